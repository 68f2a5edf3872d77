"""Handlers of the customers context, and the lookups other contexts share."""

from __future__ import annotations

import uuid
from uuid import UUID

from domain import ids, phones
from domain.access import PARTNER_CLASSIFICATIONS, PORTAL_MODULES
from domain.aggregates.customer import Customer
from domain.aggregates.identity import ChannelIdentity
from domain.commands import Handlers
from domain.customers.commands import (
    AddContact,
    AssignRepresentative,
    GrantModules,
    LinkIdentity,
    MergeCustomer,
    RegisterCustomer,
    RemoveContact,
    SetPreferences,
    UnlinkIdentity,
    UpdateCustomer,
)
from domain.errors import InvalidTransition, invalid
from domain.requests.lookup import load_request
from domain.requests.opening import customer_requests
from domain.store import Pending, Store
from domain.users.handlers import load_user
from domain.vocabulary import (
    CUSTOMER_CLASSIFICATIONS,
    CUSTOMER_KINDS,
    IDENTITY_KINDS,
    STAFF_ROLES,
    require_one_of,
)

handlers = Handlers()


def load_customer(store: Store, code: str) -> Customer:
    return store.load(Customer, ids.customer_id(code), f"no customer {code!r}")


def customer_by_identity(store: Store, kind: str, value: str) -> Customer | None:
    identity = store.find(ChannelIdentity, *ids.identity_ids(kind, value))
    if identity is None or identity.customer_code is None:
        return None
    return load_customer(store, identity.customer_code)


def checked_identity(kind: str, value: str) -> tuple[str, str]:
    require_one_of(kind, IDENTITY_KINDS, "identity kind")
    if kind in ids.NUMBER_KINDS and (value or "").strip():
        try:
            return kind, phones.normalise_number(value)
        except phones.UnparsableNumber:
            raise invalid(kind, f"{value!r} is not a {kind} number") from None
    normalised = ids.normalise_identity(kind, value or "")
    if not normalised or normalised == "+":
        raise invalid(kind, f"{kind} must not be empty")
    if kind == "email" and ("@" not in normalised or " " in normalised):
        raise invalid(kind, f"{value!r} is not an email address")
    return kind, normalised


def claim_identity(
    store: Store, pending: Pending, customer: Customer, kind: str, value: str, actor: str
) -> None:
    """The identity index and the customer both learn the link, in the same write."""
    identity = store.find(ChannelIdentity, *ids.identity_ids(kind, value))
    if identity is None:
        identity = ChannelIdentity(
            kind=kind, value=value, customer_code=customer.code, actor=actor
        )
    else:
        identity.claim(customer.code, actor)
    customer.link_identity(kind, value, actor)
    pending.add(customer, identity)


def _require_code(code: str) -> str:
    code = (code or "").strip()
    if not code or len(code) > 64 or any(c.isspace() for c in code):
        raise invalid("code", "a customer code is 1 to 64 characters without spaces")
    return code


@handlers(RegisterCustomer)
def register_customer(store: Store, c: RegisterCustomer) -> UUID:
    code = _require_code(c.code)
    if not c.name.strip():
        raise invalid("name", "name must not be empty")
    require_one_of(c.kind, CUSTOMER_KINDS, "kind")
    require_one_of(c.classification, CUSTOMER_CLASSIFICATIONS, "classification")
    # After normalising, `A@x` and `a@x` are one identity: claim it once.
    wanted = list(dict.fromkeys(checked_identity(k, v) for k, v in c.identities))

    def attempt() -> UUID:
        customer = Customer(
            code=code, name=c.name.strip(), kind=c.kind, classification=c.classification,
            actor=c.actor, provisional=c.classification == "provisional",
        )
        pending = Pending([customer])
        if c.profile:
            customer.change_profile(c.profile, c.actor)
        for kind, value in wanted:
            claim_identity(store, pending, customer, kind, value, c.actor)
        store.create(pending, f"customer {code} already exists")
        return customer.id

    return store.retrying(attempt)


@handlers(UpdateCustomer)
def update_customer(store: Store, c: UpdateCustomer) -> None:
    changes = c.changes
    if "kind" in changes:
        require_one_of(changes["kind"], CUSTOMER_KINDS, "kind")
    if "classification" in changes:
        require_one_of(changes["classification"], CUSTOMER_CLASSIFICATIONS, "classification")
    if "name" in changes and not str(changes["name"]).strip():
        raise invalid("name", "name must not be empty")
    store.change(lambda: load_customer(store, c.code),
                 lambda customer: customer.change_profile(changes, c.actor))


@handlers(AddContact)
def add_contact(store: Store, c: AddContact) -> str:
    if not c.name.strip():
        raise invalid("name", "a contact needs a name")
    phone = c.phone.strip()
    if phone:
        try:
            phone = phones.normalise_number(phone)
        except phones.UnparsableNumber:
            raise invalid("phone", f"{c.phone!r} is not a phone number") from None
    email = c.email.strip()
    if email and ("@" not in email or " " in email):
        raise invalid("email", f"{c.email!r} is not an email address")
    contact_id = uuid.uuid4().hex[:12]
    details = {"name": c.name.strip(), "department": c.department.strip(), "phone": phone,
               "email": email}
    store.change(lambda: load_customer(store, c.code),
                 lambda customer: customer.add_contact(contact_id, details, c.actor))
    return contact_id


@handlers(RemoveContact)
def remove_contact(store: Store, c: RemoveContact) -> None:
    store.change(lambda: load_customer(store, c.code),
                 lambda customer: customer.remove_contact(c.contact_id, c.actor))


@handlers(LinkIdentity)
def link_identity(store: Store, c: LinkIdentity) -> None:
    kind, value = checked_identity(c.kind, c.value)

    def attempt() -> None:
        pending = Pending()
        claim_identity(store, pending, load_customer(store, c.code), kind, value, c.actor)
        store.save(pending)

    store.retrying(attempt)


@handlers(UnlinkIdentity)
def unlink_identity(store: Store, c: UnlinkIdentity) -> None:
    kind, value = checked_identity(c.kind, c.value)

    def attempt() -> None:
        customer = load_customer(store, c.code)
        customer.unlink_identity(kind, value, c.actor)
        pending = Pending([customer])
        identity = store.find(ChannelIdentity, *ids.identity_ids(kind, value))
        if identity is not None and identity.customer_code == c.code:
            identity.release(actor=c.actor)
            pending.add(identity)
        store.save(pending)

    store.retrying(attempt)


@handlers(AssignRepresentative)
def assign_representative(store: Store, c: AssignRepresentative) -> None:
    email = c.user_email
    if email is not None:
        user = load_user(store, email)
        if not any(role in STAFF_ROLES for role in user.roles):
            raise invalid("representative", f"{email} is not a member of staff")
        if not user.active:
            raise invalid("representative", f"{email} is deactivated")
        email = user.email
    store.change(lambda: load_customer(store, c.code),
                 lambda customer: customer.assign_representative(email, c.actor))


@handlers(SetPreferences)
def set_preferences(store: Store, c: SetPreferences) -> None:
    store.change(lambda: load_customer(store, c.code),
                 lambda customer: customer.set_preferences(c.preferences, c.actor))


@handlers(GrantModules)
def grant_modules(store: Store, c: GrantModules) -> None:
    for module in c.modules:
        require_one_of(module, PORTAL_MODULES, "modules")
    # In the order of PORTAL_MODULES, once each: a grant reads the same however it was sent.
    modules: list[str] = [m for m in PORTAL_MODULES if m in set(c.modules)]

    def grant(customer: Customer) -> None:
        if customer.classification not in PARTNER_CLASSIFICATIONS:
            raise invalid("modules", "portal modules are granted to partner organisations "
                                     "(partner, dealer, repair shop) only")
        customer.grant_modules(modules, c.actor)

    store.change(lambda: load_customer(store, c.code), grant)


@handlers(MergeCustomer)
def merge_customer(store: Store, c: MergeCustomer) -> None:
    """Identities and requests move over; both streams record the merge.  Only a
    provisional customer (made for an unknown sender) is merged, and only into a
    real one: two real customers are two organisations, however alike."""
    if c.source_code == c.target_code:
        raise InvalidTransition("a customer cannot be merged into itself")
    source = load_customer(store, c.source_code)
    target = load_customer(store, c.target_code)
    if not source.provisional:
        raise InvalidTransition(f"customer {source.code} is not provisional; only a "
                                "provisional customer is merged into another")
    if target.provisional:
        raise InvalidTransition(f"customer {target.code} is provisional too; merge into a "
                                "registered customer")
    source.require_active()
    target.require_active()

    def attempt() -> None:
        pending = Pending()
        merge_pending(store, pending, c.source_code, c.target_code, c.actor)
        store.save(pending)

    store.retrying(attempt)


def merge_pending(
    store: Store, pending: Pending, source_code: str, target_code: str, actor: str
) -> Customer:
    """The merge of `source_code` into `target_code`, added to `pending` unsaved, so a
    command that merges as one step of its own (linking a chat account that wrote
    before it was linked) saves both in one atomic write.  Returns the target."""
    source = load_customer(store, source_code)
    target = load_customer(store, target_code)
    references = customer_requests(store, source)
    identities = [tuple(i.split(":", 1)) for i in source.identities]
    source.merge_into(target_code, actor)
    target.absorb(source_code=source_code, references=references, actor=actor)
    pending.add(source, target)
    for kind, value in identities:
        identity = store.find(ChannelIdentity, *ids.identity_ids(kind, value))
        if identity is not None and identity.customer_code == source_code:
            identity.release(actor=actor)
            identity.claim(target_code, actor)
            pending.add(identity)
        target.link_identity(kind, value, actor)
    for reference in references:
        request = load_request(store, reference)
        request.change_customer(from_code=source_code, to_code=target_code, actor=actor)
        pending.add(request)
    return target
