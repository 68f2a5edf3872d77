"""ChannelIdentity: which customer an email address, phone/fax number or
Telegram id belongs to.

Its ID is derived from the identity itself (domain.ids.identity_id), so looking
a sender up is one read, and two customers claiming the same address at once
collide in the event store instead of both succeeding.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.errors import AlreadyExists
from domain.personal import PersonalData, fields


class ChannelIdentity(Aggregate):
    # Whose data this is, and which fields are theirs (domain.personal).
    personal_data = PersonalData(
        owner=lambda identity: identity.customer_code,
        events={
            "Claimed": fields(plain="kind customer_code", personal="value"),
            "Reclaimed": fields(plain="customer_code"),
            "Released": fields(),
        },
    )

    @staticmethod
    def create_id(kind: str, value: str, **_: object) -> UUID:
        return ids.identity_id(kind, value)

    @event("Claimed")
    def __init__(self, kind: str, value: str, customer_code: str, actor: str) -> None:
        self.kind = kind
        self.value = value
        self.customer_code: str | None = customer_code

    def claim(self, customer_code: str, actor: str) -> None:
        if self.customer_code == customer_code:
            return
        if self.customer_code is not None:
            raise AlreadyExists(
                f"{self.kind} {self.value} already belongs to customer {self.customer_code}"
            )
        self._reclaimed(customer_code=customer_code, actor=actor)

    @event("Reclaimed")
    def _reclaimed(self, customer_code: str, actor: str) -> None:
        self.customer_code = customer_code

    @event("Released")
    def release(self, actor: str) -> None:
        self.customer_code = None
