"""LinkCode: a one-time code that ties a chat account (a Telegram user) to a customer.

The portal (or an agent, or `ledgerdesk telegram link-code`) issues a code for a
customer; the customer sends it to the bot (`/start CODE`) and the chat account
becomes one of the customer's identities.  The code is a secret for as long as
it is unused, so it never goes into an event: the aggregate's id is a keyed
hash of it (domain.ids.keyed_id, under the master key's index key), so
redeeming is one read and nobody who reads the log can recompute a code from it.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.personal import PersonalData, fields


def link_code_id(code: str) -> UUID:
    """Codes are compared without regard to case or spaces: people retype them."""
    return ids.keyed_id(f"link-code:{normalise_code(code)}")


def normalise_code(code: str) -> str:
    return "".join((code or "").split()).upper()


class LinkCode(Aggregate):
    # Whose data this is, and which fields are theirs (domain.personal).
    personal_data = PersonalData(
        owner=lambda link: link.customer_code,
        events={
            "Issued": fields(plain="customer_code channel code_hash expires_at"),
            "Redeemed": fields(plain="kind", personal="value"),
        },
    )

    @staticmethod
    def create_id(code_hash: str, **_: object) -> UUID:
        return UUID(code_hash)

    @event("Issued")
    def __init__(
        self, customer_code: str, channel: str, code_hash: str, expires_at: datetime, actor: str
    ) -> None:
        """`code_hash`: the keyed hash of the code (also this aggregate's id), never the code."""
        self.customer_code = customer_code
        self.channel = channel
        self.code_hash = code_hash
        self.expires_at = expires_at
        self.redeemed_by: str | None = None

    @event("Redeemed")
    def redeem(self, kind: str, value: str, actor: str) -> None:
        self.redeemed_by = f"{kind}:{value}"
