"""Erasing a customer: their personal data becomes unreadable, their history stays.

Events are never deleted (the audit chain proves it), so erasure is
crypto-shredding (domain.sealing): every personal field of every event that
concerns the customer was sealed with the customer's key, and erasing destroys
that key.  The unit of erasure is the customer and every code merged into it:
requests opened under a provisional code before a merge hold the same
person's data.

In one atomic write: `Customer.Erased` (who, when, why, which codes; nothing
personal), the release of the customer's channel identities (a new message
from the same address starts afresh, as a stranger) and the deactivation of
the customer's portal users.  Then the keys are destroyed.  Every process that
projects the log destroys them again when it meets `Customer.Erased`
(projections.runner), so a crash between the two steps still ends with the
keys gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain import ids
from domain.aggregates.customer import Customer
from domain.aggregates.identity import ChannelIdentity
from domain.commands import Handlers
from domain.customers.commands import EraseCustomer
from domain.customers.handlers import load_customer
from domain.errors import CustomerWasErased, invalid
from domain.store import Pending, Store
from domain.users.handlers import all_users

handlers = Handlers()

MAX_REASON = 500


@dataclass(frozen=True)
class Erasure:
    code: str
    codes: list[str]
    identities_released: int
    users_deactivated: int


def family_of(store: Store, customer: Customer) -> list[str]:
    """The customer's code and every code merged into it, at any depth."""
    codes, queue = [customer.code], list(customer.absorbed)
    while queue:
        code = queue.pop(0)
        if code in codes:
            continue
        codes.append(code)
        absorbed = store.get(Customer, ids.customer_id(code))
        if absorbed is not None:
            queue.extend(absorbed.absorbed)
    return codes


@handlers(EraseCustomer)
def erase_customer(store: Store, c: EraseCustomer) -> Erasure:
    reason = " ".join((c.reason or "").split())
    if not reason:
        raise invalid("reason", "say why the customer is erased (e.g. the request's number)")
    if len(reason) > MAX_REASON:
        raise invalid("reason", f"the reason is at most {MAX_REASON} characters")

    def attempt() -> Erasure:
        customer = load_customer(store, c.code)
        if customer.erased:
            raise CustomerWasErased(f"customer {c.code} was erased already")
        codes = family_of(store, customer)
        pending = Pending([customer])
        customer.erase(codes=codes, reason=reason, actor=c.actor)
        released = 0
        for identity_text in customer.identities:
            kind, _, value = identity_text.partition(":")
            identity = store.find(ChannelIdentity, *ids.identity_ids(kind, value))
            if identity is not None and identity.customer_code in codes:
                identity.release(actor=c.actor)
                pending.add(identity)
                released += 1
        deactivated = 0
        for user in all_users(store):
            if user.customer_code in codes and user.active:
                user.deactivate(actor=c.actor)
                pending.add(user)
                deactivated += 1
        store.save(pending)
        return Erasure(c.code, codes, released, deactivated)

    erasure = store.retrying(attempt)
    store.destroy_keys(erasure.codes)
    return erasure
