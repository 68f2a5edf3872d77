"""What views of field jobs share: FieldJob.ReportFiled does not repeat the
request's reference, so each view keeps its own job → reference table (a view
owns its tables), filled from FieldJob.Created."""

from __future__ import annotations

from typing import Any, ClassVar

from domain.aggregates.field_job import FieldJob
from projections.view import Db, View, handles


def refs_schema(table: str) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {table} (
            job_id TEXT PRIMARY KEY,
            reference TEXT NOT NULL
        )"""


class FieldJobRefsView(View):
    """A view with a `refs_table` (created by `refs_schema(refs_table)` in its schema)."""

    refs_table: ClassVar[str]

    @handles(FieldJob.Created)
    def job_created(self, db: Db, e: Any, position: int) -> None:
        db.execute(f"INSERT INTO {self.refs_table} (job_id, reference) VALUES (?, ?) "
                   "ON CONFLICT (job_id) DO NOTHING", (str(e.originator_id), e.reference))

    def reference_of(self, db: Db, e: Any) -> str:
        """The reference of the request the event's job is for ("" if unknown)."""
        ref = db.one(f"SELECT reference FROM {self.refs_table} WHERE job_id = ?",
                     (str(e.originator_id),))
        return ref["reference"] if ref else ""
