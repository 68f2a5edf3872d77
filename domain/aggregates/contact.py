"""CustomerContact: one interaction with a customer, on any channel, either way.

A customer's contact history is these records, one small aggregate each, not
events on the Customer's own stream.  Every interaction used to append to that
one stream, so a company customer with many people writing and many agents
answering at once turned it into a hotspot: concurrent writers conflicted on it
even when they worked on different requests.  A record created once and never
changed cannot conflict with anything, and the customer's story stays whole: the
Customer stream holds who they are, these records every contact, each naming the
customer and the request.

The ID is derived from the customer and the interaction's own id on its channel
(a Message-ID, a call id, a reply id), so recording the same contact twice is a
version-1 conflict in the same atomic save as the interaction itself.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.personal import PersonalData, fields


class CustomerContact(Aggregate):
    # Whose data this is, and which fields are theirs (domain.personal).
    personal_data = PersonalData(
        owner=lambda contact: contact.customer_code,
        events={
            "Recorded": fields(
                plain="channel customer_code direction kind occurred_at reference",
                personal="external_id summary",
            ),
        },
    )

    @staticmethod
    def create_id(customer_code: str, channel: str, external_id: str, **_: object) -> UUID:
        return ids.contact_id(customer_code, channel, external_id)

    @event("Recorded")
    def __init__(
        self,
        customer_code: str,
        channel: str,
        external_id: str,
        direction: str,
        kind: str,
        reference: str | None,
        summary: str,
        occurred_at: datetime,
        actor: str,
    ) -> None:
        self.customer_code = customer_code
        self.reference = reference
