"""Where a reply goes (CONTRACT.md, "Where a reply goes").

A reply is delivered by the sender of a channel.  Which channels have a sender
is a fact of the deployment (the composition root passes it in); this module
only applies the rule, so that a reply nobody can deliver is refused at once
with a message naming the channel, instead of being accepted and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.aggregates.customer import Customer
from domain.errors import InvalidTransition, invalid
from domain.vocabulary import CHANNELS

# Channels whose replies fall back to the customer's email address.
EMAIL_FALLBACK = ("chat", "fax", "phone")


class Undeliverable(InvalidTransition):
    """No sender can reach the customer on this channel; call them instead."""

    code = "undeliverable"


@dataclass(frozen=True)
class Route:
    channel: str
    # None: the channel's sender answers the thread it knows.  For email it is the
    # customer's address on record, used when they never wrote to this request
    # (opened by an agent, by phone...): the thread's last sender still wins.
    recipient: str | None


def route_reply(
    customer: Customer, request_channel: str, wanted: str | None, reply_channels: frozenset[str]
) -> Route:
    channel = wanted or request_channel
    if channel not in CHANNELS:
        raise invalid("channel", f"channel must be one of {', '.join(CHANNELS)}")
    email = first_identity(customer, "email")
    if channel in reply_channels:
        if channel == "email" and email is None:
            raise Undeliverable(f"customer {customer.code} has no email address to reply to")
        if channel == "email":
            return Route("email", email)
        if channel == "telegram" and first_identity(customer, "telegram") is None:
            raise Undeliverable(f"customer {customer.code} has no Telegram chat to reply to")
        return Route(channel, None)
    if channel in EMAIL_FALLBACK and "email" in reply_channels and email is not None:
        return Route("email", email)
    if channel in EMAIL_FALLBACK:
        why = (f"no sender is configured for {channel} replies and customer {customer.code} "
               "cannot be reached by email")
    else:
        why = f"no sender is configured for {channel} replies"
    raise Undeliverable(f"{why}; call the customer instead")


def first_identity(customer: Customer, kind: str) -> str | None:
    for identity in customer.identities:
        found_kind, _, value = identity.partition(":")
        if found_kind == kind:
            return value
    return None
