"""Commands of the chat-links context."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IssueLinkCode:
    """A one-time code for `customer_code`; the handler returns the code, the
    only time it is ever seen (the log keeps a keyed hash).  Whoever shows it
    (the portal, an agent, the CLI) hands it to the customer, who sends
    `/start CODE` to the bot."""

    customer_code: str
    actor: str
    channel: str = "telegram"
    valid_hours: int = 24


@dataclass(frozen=True)
class RedeemLinkCode:
    """`value` (a Telegram user id) becomes an identity of the code's customer.
    Returns that customer's code; refused (InvalidLinkCode) when the code is
    unknown, used, expired or for another channel."""

    code: str
    kind: str
    value: str
    actor: str


@dataclass(frozen=True)
class LinkByPhone:
    """A chat account shared its own phone number: it becomes an identity of the
    customer who has that number.  Returns that customer's code, or None when no
    customer has it (nothing is linked)."""

    phone: str
    kind: str
    value: str
    actor: str
