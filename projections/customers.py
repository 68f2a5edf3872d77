"""Customer 360, the customer half: profile, contacts, identities, preferences,
representative, the log of every contact, and the installed base.  The request half (open and closed
requests, satisfaction) is read from the inbox view by the read API.

A unit's service history (维修历史) belongs to the unit, not to its owner of the
day: `unit_requests` links a request to a registered unit when the request's
customer owned that unit at the time (in log order), and the link stays when
the unit changes hands.  A request naming a serial its customer does not own is
kept as written but joins no unit's history, so nobody can write into another
customer's record by quoting a serial.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain import ids
from domain.aggregates.contact import CustomerContact
from domain.aggregates.customer import CORE_FIELDS, Customer
from domain.aggregates.installed_product import DETAIL_FIELDS as PRODUCT_DETAIL_FIELDS
from domain.aggregates.installed_product import InstalledProduct
from domain.aggregates.service_request import ServiceRequest
from projections.redaction import erase_json_columns, erased_text_sql, marks
from projections.view import Db, View, from_json, handles, iso, to_json

if TYPE_CHECKING:
    from projections.storage import ViewStorage

# A unit's personal columns, and the column naming whose key sealed each.
PERSONAL_PRODUCT_COLUMNS = {"name": "name_owner", "install_address": "address_owner"}


class CustomersView(View):
    name = "customers"
    version = 4  # 3: whose key wrote a unit's name and address, for erasure; 4: portal modules
    tables = ("customers", "customer_contacts", "customer_products", "request_products",
              "unit_requests")
    schema = (
        """CREATE TABLE IF NOT EXISTS customers (
            id TEXT PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            classification TEXT NOT NULL,
            provisional INTEGER NOT NULL,
            merged_into TEXT,
            representative TEXT,
            profile TEXT NOT NULL,
            contacts TEXT NOT NULL,
            identities TEXT NOT NULL,
            preferences TEXT NOT NULL,
            registered_at TEXT NOT NULL,
            contact_count INTEGER NOT NULL DEFAULT 0,
            last_contact_at TEXT,
            portal_modules TEXT NOT NULL DEFAULT '[]'
        )""",
        """CREATE TABLE IF NOT EXISTS customer_contacts (
            customer_id TEXT NOT NULL,
            position BIGINT NOT NULL,
            at TEXT NOT NULL,
            channel TEXT NOT NULL,
            direction TEXT NOT NULL,
            kind TEXT NOT NULL,
            reference TEXT,
            summary TEXT NOT NULL,
            PRIMARY KEY (customer_id, position)
        )""",
        """CREATE TABLE IF NOT EXISTS customer_products (
            id TEXT PRIMARY KEY,
            serial TEXT NOT NULL,
            customer_code TEXT NOT NULL,
            model TEXT NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            install_address TEXT NOT NULL,
            installed_on TEXT,
            warranty_until TEXT,
            configuration TEXT NOT NULL,
            maintainer TEXT,
            registered_at TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            name_owner TEXT,
            address_owner TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS customer_products_owner "
        "ON customer_products (customer_code, serial)",
        # The product each request named as written, to link it when the unit is
        # registered after the request was opened.
        """CREATE TABLE IF NOT EXISTS request_products (
            reference TEXT PRIMARY KEY,
            customer_code TEXT NOT NULL,
            product TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS unit_requests (
            serial TEXT NOT NULL,
            reference TEXT NOT NULL,
            PRIMARY KEY (serial, reference)
        )""",
    )

    @handles(Customer.Registered)
    def registered(self, db: Db, e: Any, position: int) -> None:
        db.execute(
            """INSERT INTO customers (id, code, name, kind, classification, provisional, profile,
                   contacts, identities, preferences, registered_at)
               VALUES (?, ?, ?, ?, ?, ?, '{}', '{}', '[]', '{}', ?)
               ON CONFLICT (id) DO NOTHING""",
            (str(e.originator_id), e.code, e.name, e.kind, e.classification,
             int(e.provisional), iso(e.timestamp)),
        )

    @handles(Customer.ProfileChanged)
    def profile_changed(self, db: Db, e: Any, position: int) -> None:
        profile = self._json(db, e, "profile")
        for key, value in e.changes.items():
            if key in CORE_FIELDS:
                db.execute(f"UPDATE customers SET {key} = ? WHERE id = ?",
                           (value, str(e.originator_id)))
            else:
                profile[key] = value
        if e.changes.get("classification", "provisional") != "provisional":
            db.execute("UPDATE customers SET provisional = 0 WHERE id = ?",
                       (str(e.originator_id),))
        self._set(db, e, "profile", to_json(profile))

    @handles(Customer.ContactAdded)
    def contact_added(self, db: Db, e: Any, position: int) -> None:
        contacts = self._json(db, e, "contacts")
        contacts[e.contact_id] = e.details
        self._set(db, e, "contacts", to_json(contacts))

    @handles(Customer.ContactRemoved)
    def contact_removed(self, db: Db, e: Any, position: int) -> None:
        contacts = self._json(db, e, "contacts")
        contacts.pop(e.contact_id, None)
        self._set(db, e, "contacts", to_json(contacts))

    @handles(Customer.IdentityLinked)
    def identity_linked(self, db: Db, e: Any, position: int) -> None:
        identities = self._json(db, e, "identities")
        entry = {"kind": e.kind, "value": e.value}
        if entry not in identities:
            identities.append(entry)
        self._set(db, e, "identities", to_json(identities))

    @handles(Customer.IdentityUnlinked)
    def identity_unlinked(self, db: Db, e: Any, position: int) -> None:
        identities = [i for i in self._json(db, e, "identities")
                      if i != {"kind": e.kind, "value": e.value}]
        self._set(db, e, "identities", to_json(identities))

    @handles(Customer.RepresentativeAssigned)
    def representative(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, "representative", e.user_email)

    @handles(Customer.PreferencesSet)
    def preferences(self, db: Db, e: Any, position: int) -> None:
        preferences = self._json(db, e, "preferences")
        preferences.update(e.preferences)
        self._set(db, e, "preferences", to_json(preferences))

    @handles(Customer.ModulesGranted)
    def modules_granted(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, "portal_modules", to_json(list(e.modules)))

    @handles(Customer.MergedInto)
    def merged(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, "merged_into", e.target_code)
        self._set(db, e, "identities", "[]")

    @handles(CustomerContact.Recorded)
    def contact(self, db: Db, e: Any, position: int) -> None:
        self._contact(db, str(ids.customer_id(e.customer_code)), e, position)

    @handles(Customer.ContactRecorded)
    def contact_on_customer_stream(self, db: Db, e: Any, position: int) -> None:
        """Contacts recorded before CustomerContact existed."""
        self._contact(db, str(e.originator_id), e, position)

    @staticmethod
    def _contact(db: Db, customer_id: str, e: Any, position: int) -> None:
        db.execute(
            """INSERT INTO customer_contacts (customer_id, position, at, channel, direction, kind,
                   reference, summary)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (customer_id, position) DO NOTHING""",
            (customer_id, position, iso(e.occurred_at), e.channel, e.direction,
             e.kind, e.reference, e.summary),
        )
        db.execute(
            "UPDATE customers SET contact_count = contact_count + 1, last_contact_at = ? "
            "WHERE id = ?", (iso(e.occurred_at), customer_id),
        )

    # --- the installed base -------------------------------------------------

    @handles(InstalledProduct.Registered)
    def product_registered(self, db: Db, e: Any, position: int) -> None:
        db.execute(
            """INSERT INTO customer_products (id, serial, customer_code, model, name, status,
                   install_address, installed_on, warranty_until, configuration, maintainer,
                   registered_at, changed_at, name_owner, address_owner)
               VALUES (?, ?, ?, ?, ?, 'in_service', ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO NOTHING""",
            (str(e.originator_id), e.serial, e.customer_code, e.model, e.name,
             e.install_address, e.installed_on, e.warranty_until, to_json(e.configuration),
             e.maintainer, iso(e.timestamp), iso(e.timestamp), e.customer_code,
             e.customer_code),
        )
        self._link_earlier_requests(db, e.serial, e.customer_code)

    @handles(InstalledProduct.DetailsChanged)
    def product_changed(self, db: Db, e: Any, position: int) -> None:
        for column, value in e.changes.items():
            if column in PRODUCT_DETAIL_FIELDS:  # a column name from our own list, never input
                self._set_product(db, e, column,
                                  to_json(value) if column == "configuration" else value)
            if column in PERSONAL_PRODUCT_COLUMNS:
                # Sealed with the key of the unit's owner of the day: remember whose.
                db.execute(f"UPDATE customer_products SET {PERSONAL_PRODUCT_COLUMNS[column]} = "
                           f"customer_code WHERE id = ?", (str(e.originator_id),))

    @handles(InstalledProduct.StatusChanged)
    def product_status(self, db: Db, e: Any, position: int) -> None:
        self._set_product(db, e, "status", e.to_status)

    @handles(InstalledProduct.OwnerChanged)
    def product_owner(self, db: Db, e: Any, position: int) -> None:
        self._set_product(db, e, "customer_code", e.to_code)
        row = db.one("SELECT serial FROM customer_products WHERE id = ?", (str(e.originator_id),))
        if row:
            self._link_earlier_requests(db, row["serial"], e.to_code)

    @handles(ServiceRequest.Opened)
    def request_opened(self, db: Db, e: Any, position: int) -> None:
        if not e.product:
            return
        product = e.product.strip().upper()
        db.execute("INSERT INTO request_products (reference, customer_code, product) "
                   "VALUES (?, ?, ?) ON CONFLICT (reference) DO NOTHING",
                   (e.reference, e.customer_code, product))
        db.execute("""INSERT INTO unit_requests (serial, reference)
                      SELECT serial, ? FROM customer_products
                      WHERE UPPER(serial) = ? AND customer_code = ?
                      ON CONFLICT (serial, reference) DO NOTHING""",
                   (e.reference, product, e.customer_code))

    def _link_earlier_requests(self, db: Db, serial: str, customer_code: str) -> None:
        db.execute("""INSERT INTO unit_requests (serial, reference)
                      SELECT ?, reference FROM request_products
                      WHERE product = ? AND customer_code = ?
                      ON CONFLICT (serial, reference) DO NOTHING""",
                   (serial, serial.upper(), customer_code))

    # --- erasure (projections.redaction) -------------------------------------

    @handles(Customer.Erased)
    def erased(self, db: Db, e: Any, position: int) -> None:
        family = f"({marks(e.codes)})"
        db.execute(f"UPDATE customers SET name = {erased_text_sql('name')}, identities = '[]' "
                   f"WHERE code IN {family}", e.codes)
        for code in e.codes:
            erase_json_columns(db, "customers", "code", code, {
                "profile": frozenset({"kind", "classification"}),
                "contacts": frozenset(), "preferences": frozenset()})
        customer_ids = [str(ids.customer_id(code)) for code in e.codes]
        db.execute(f"UPDATE customer_contacts SET summary = {erased_text_sql('summary')} "
                   f"WHERE customer_id IN ({marks(customer_ids)})", customer_ids)
        for column, owner in PERSONAL_PRODUCT_COLUMNS.items():
            db.execute(f"UPDATE customer_products SET {column} = {erased_text_sql(column)} "
                       f"WHERE {owner} IN {family}", e.codes)

    @staticmethod
    def _set_product(db: Db, e: Any, column: str, value: Any) -> None:
        db.execute(f"UPDATE customer_products SET {column} = ?, changed_at = ? WHERE id = ?",
                   (value, iso(e.timestamp), str(e.originator_id)))

    @staticmethod
    def _json(db: Db, e: Any, column: str) -> Any:
        row = db.one(f"SELECT {column} FROM customers WHERE id = ?", (str(e.originator_id),))
        return from_json(row[column]) if row else {}

    @staticmethod
    def _set(db: Db, e: Any, column: str, value: Any) -> None:
        db.execute(f"UPDATE customers SET {column} = ? WHERE id = ?",
                   (value, str(e.originator_id)))


def granted_modules(storage: ViewStorage, code: str) -> list[str]:
    """The portal modules granted to a partner organisation (domain.access), one
    indexed read: the portal asks on every page a partner opens."""
    rows = storage.query("SELECT portal_modules FROM customers WHERE code = ?", (code,))
    return list(from_json(rows[0]["portal_modules"])) if rows else []
