"""Customer 360, the customer half: profile, contacts, identities, preferences,
representative and the log of every contact.  The request half (open and closed
requests, satisfaction) is read from the inbox view by the read API."""

from __future__ import annotations

from typing import Any

from domain.aggregates.customer import CORE_FIELDS, Customer
from projections.view import Db, View, from_json, handles, iso, to_json


class CustomersView(View):
    name = "customers"
    tables = ("customers", "customer_contacts")
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
            last_contact_at TEXT
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

    @handles(Customer.MergedInto)
    def merged(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, "merged_into", e.target_code)
        self._set(db, e, "identities", "[]")

    @handles(Customer.ContactRecorded)
    def contact(self, db: Db, e: Any, position: int) -> None:
        db.execute(
            """INSERT INTO customer_contacts (customer_id, position, at, channel, direction, kind,
                   reference, summary)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (customer_id, position) DO NOTHING""",
            (str(e.originator_id), position, iso(e.occurred_at), e.channel, e.direction,
             e.kind, e.reference, e.summary),
        )
        db.execute(
            "UPDATE customers SET contact_count = contact_count + 1, last_contact_at = ? "
            "WHERE id = ?", (iso(e.occurred_at), str(e.originator_id)),
        )

    @staticmethod
    def _json(db: Db, e: Any, column: str) -> Any:
        row = db.one(f"SELECT {column} FROM customers WHERE id = ?", (str(e.originator_id),))
        return from_json(row[column]) if row else {}

    @staticmethod
    def _set(db: Db, e: Any, column: str, value: Any) -> None:
        db.execute(f"UPDATE customers SET {column} = ? WHERE id = ?",
                   (value, str(e.originator_id)))
