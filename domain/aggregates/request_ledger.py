"""CustomerRequests: which requests a customer has, kept in a few shards.

A merge has to find every request of the customer it folds away, so the
domain keeps that list itself.  It used to live on the Customer's own stream,
which made every new request of a busy company customer contend with every
other one.  Now it lives in SHARDS small streams per customer; a request goes
to the shard its number picks, so two agents opening requests for the same
customer at the same moment collide only when their numbers share a shard (and
then the store's retry settles it).  Streams written before this keep their
RequestLinked events on the Customer; a merge reads both.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.personal import PersonalData, fields

SHARDS = 16


def shard_of(reference: str) -> int:
    digits = reference.rpartition("-")[2]
    return int(digits) % SHARDS if digits.isdigit() else 0


class CustomerRequests(Aggregate):
    # Whose data this is (domain.personal); nothing in it is personal.
    personal_data = PersonalData(
        owner=lambda ledger: ledger.customer_code,
        events={
            "Started": fields(plain="customer_code shard"),
            "Linked": fields(plain="reference"),
        },
    )

    @staticmethod
    def create_id(customer_code: str, shard: int, **_: object) -> UUID:
        return ids.request_shard_id(customer_code, shard)

    @event("Started")
    def __init__(self, customer_code: str, shard: int, actor: str) -> None:
        self.customer_code = customer_code
        self.shard = shard
        self.references: list[str] = []

    @event("Linked")
    def link(self, reference: str, actor: str) -> None:
        if reference not in self.references:
            self.references.append(reference)
