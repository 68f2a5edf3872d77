"""Handlers of the chat-links context.

Linking a chat account to a customer moves the account's identity to that
customer.  When the account wrote before it was linked, it already belongs to a
provisional customer (domain.requests.interactions makes one for a stranger):
that provisional customer is merged into the real one in the same atomic write,
so its requests, and the replies an agent sends on them, follow the account.
An account that belongs to a real customer is never taken from it here: that
is an agent's decision (unlink, then link).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from domain.aggregates.customer import Customer
from domain.aggregates.link_code import LinkCode, link_code_id
from domain.chat_links.commands import IssueLinkCode, LinkByPhone, RedeemLinkCode
from domain.commands import Handlers
from domain.customers.handlers import (
    checked_identity,
    claim_identity,
    customer_by_identity,
    load_customer,
    merge_pending,
)
from domain.errors import AlreadyExists, InvalidInput, invalid
from domain.store import Pending, Store
from domain.vocabulary import IDENTITY_KINDS, require_one_of

handlers = Handlers()

# Unambiguous when read aloud or retyped: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # 31**10 ≈ 2**49: not guessable within a code's lifetime
MAX_VALID_HOURS = 24 * 30


class InvalidLinkCode(InvalidInput):
    """Unknown, used, expired, or for another channel: one answer for all, so
    nobody learns which codes exist."""

    code = "invalid_link_code"


@handlers(IssueLinkCode)
def issue_link_code(store: Store, c: IssueLinkCode) -> str:
    require_one_of(c.channel, IDENTITY_KINDS, "channel")
    if not 1 <= c.valid_hours <= MAX_VALID_HOURS:
        raise invalid("valid_hours", f"valid_hours must be 1 to {MAX_VALID_HOURS}")
    customer = load_customer(store, c.customer_code)
    customer.require_active()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    link = LinkCode(
        customer_code=customer.code, channel=c.channel, code_hash=str(link_code_id(code)),
        expires_at=store.clock.now() + timedelta(hours=c.valid_hours), actor=c.actor,
    )
    store.create(Pending([link]), "that link code exists already; issue another")
    return code


@handlers(RedeemLinkCode)
def redeem_link_code(store: Store, c: RedeemLinkCode) -> str:
    kind, value = checked_identity(c.kind, c.value)

    def attempt() -> str:
        link = store.get(LinkCode, link_code_id(c.code))
        if (link is None or link.redeemed_by is not None or link.channel != kind
                or link.expires_at <= store.clock.now()):
            raise InvalidLinkCode("this link code is unknown, used or expired",
                                  fields={"code": "unknown, used or expired"})
        pending = Pending([link])
        customer = _link(store, pending, link.customer_code, kind, value, c.actor)
        link.redeem(kind=kind, value=value, actor=c.actor)
        store.save(pending)
        return customer.code

    return store.retrying(attempt)


@handlers(LinkByPhone)
def link_by_phone(store: Store, c: LinkByPhone) -> str | None:
    kind, value = checked_identity(c.kind, c.value)
    try:
        _, phone = checked_identity("phone", c.phone)
    except InvalidInput:
        return None
    owner = customer_by_identity(store, "phone", phone)
    if owner is None and not c.phone.strip().startswith("+"):
        # Telegram sends numbers without the "+" (read as Chinese ones above); a
        # foreign customer is registered with it.
        owner = customer_by_identity(store, "phone", "+" + c.phone.strip())
    if owner is None:
        return None
    target_code = owner.merged_into or owner.code

    def attempt() -> str:
        pending = Pending()
        customer = _link(store, pending, target_code, kind, value, c.actor)
        store.save(pending)
        return customer.code

    return store.retrying(attempt)


def _link(
    store: Store, pending: Pending, customer_code: str, kind: str, value: str, actor: str
) -> Customer:
    """Make (kind, value) an identity of `customer_code`, folding in the provisional
    customer that holds it, if any; all added to `pending`."""
    customer = load_customer(store, customer_code)
    if customer.merged_into:
        customer = load_customer(store, customer.merged_into)
    customer.require_active()
    holder = customer_by_identity(store, kind, value)
    if holder is not None and holder.code != customer.code:
        if not holder.provisional:
            raise AlreadyExists(f"this {kind} account belongs to another customer; "
                                "an agent must unlink it first")
        customer = merge_pending(store, pending, holder.code, customer.code, actor)
    if not customer.has_identity(kind, value):
        claim_identity(store, pending, customer, kind, value, actor)
    pending.add(customer)
    return customer

