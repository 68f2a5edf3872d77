"""What views that apply SLA targets share: the customer's classification, kept
by the customer's id from Customer.Registered and ProfileChanged (which does not
repeat the code), each view in its own table (a view owns its tables)."""

from __future__ import annotations

from typing import Any, ClassVar

from domain import ids
from domain.aggregates.customer import Customer
from projections.view import Db, View, handles


def classes_schema(table: str) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {table} (
            customer_id TEXT PRIMARY KEY,
            classification TEXT NOT NULL
        )"""


class CustomerClassesView(View):
    """A view with a `classes_table` (created by `classes_schema(classes_table)`)."""

    classes_table: ClassVar[str]

    @handles(Customer.Registered)
    def customer_registered(self, db: Db, e: Any, position: int) -> None:
        self._classify(db, e, e.classification)

    @handles(Customer.ProfileChanged)
    def customer_changed_profile(self, db: Db, e: Any, position: int) -> None:
        if isinstance(e.changes, dict) and isinstance(e.changes.get("classification"), str):
            self._classify(db, e, e.changes["classification"])

    def _classify(self, db: Db, e: Any, classification: str) -> None:
        # Keyed by the customer's id: ProfileChanged does not repeat the code.
        db.execute(f"""INSERT INTO {self.classes_table} (customer_id, classification)
                      VALUES (?, ?) ON CONFLICT (customer_id)
                      DO UPDATE SET classification = EXCLUDED.classification""",
                   (str(e.originator_id), classification))

    def classification_of(self, db: Db, customer_code: str) -> str:
        """The customer's classification as last recorded ("" if none)."""
        row = db.one(f"SELECT classification FROM {self.classes_table} WHERE customer_id = ?",
                     (str(ids.customer_id(customer_code)),))
        return row["classification"] if row else ""
