"""InboundReceipt: proof that one channel message was recorded.

Its ID is derived from (channel, the channel's own message id).  It is saved in
the same atomic write as the interaction it records, so a redelivered message
fails that write with a version-1 conflict and nothing is recorded twice, even
when two workers race on the same message.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.personal import PersonalData, fields


class InboundReceipt(Aggregate):
    # Whose data this is, and which fields are theirs (domain.personal).
    personal_data = PersonalData(
        owner=lambda receipt: receipt.customer_code,
        events={
            "Recorded": fields(plain="channel customer_code reference", personal="external_id"),
        },
    )

    @staticmethod
    def create_id(channel: str, external_id: str, **_: object) -> UUID:
        return ids.receipt_id(channel, external_id)

    @event("Recorded")
    def __init__(
        self, channel: str, external_id: str, reference: str, customer_code: str, actor: str
    ) -> None:
        self.channel = channel
        self.external_id = external_id
        self.reference = reference
        self.customer_code = customer_code
