"""ReferenceSequence: hands out the numbers behind `SR-000123`.

A process reserves a block of numbers with one event and then issues them from
memory, so opening a request does not make every writer contend on one stream.
The cost: numbers are unique but not gap-free (a process that stops leaves the
rest of its block unused), and across processes not strictly in time order.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.personal import PersonalData, fields


class ReferenceSequence(Aggregate):
    # Nobody's personal data (domain.personal).
    personal_data = PersonalData(
        owner=lambda sequence: None,
        unowned_in_clear=True,
        events={"Started": fields(plain="name"), "BlockReserved": fields(plain="count start")},
    )

    @staticmethod
    def create_id(name: str, **_: object) -> UUID:
        return ids.sequence_id(name)

    @event("Started")
    def __init__(self, name: str) -> None:
        self.name = name
        self.next_number = 1

    @event("BlockReserved")
    def reserve(self, start: int, count: int) -> None:
        self.next_number = start + count
