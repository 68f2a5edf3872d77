"""Timeline entries of the workflows kept beside a request (complaints, reminders):
their aggregates are keyed apart from the request, so the first event of each
says which request it belongs to, and the rest are filed under the same one."""

from __future__ import annotations

from typing import Any

from domain import ids
from domain.aggregates.complaint import Complaint as K
from domain.aggregates.reminder import Reminder as R
from projections.view import Db, RowBuffer, handles, iso, to_json

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS timeline_workflows (
        aggregate_id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL
    )""",
)


class WorkflowEntries:
    """Mixed into TimelineView."""

    _rows: RowBuffer

    def _file(self, db: Db, e: Any, reference: str) -> None:
        db.execute("INSERT INTO timeline_workflows (aggregate_id, request_id) VALUES (?, ?) "
                   "ON CONFLICT (aggregate_id) DO NOTHING",
                   (str(e.originator_id), str(ids.request_id(reference))))

    def _entry(self, db: Db, e: Any, position: int, kind: str, body: str = "",
               **data: Any) -> None:
        row = db.one("SELECT request_id FROM timeline_workflows WHERE aggregate_id = ?",
                     (str(e.originator_id),))
        if row is None:
            return
        self._rows.add(row["request_id"], position, iso(e.timestamp), kind, None, None,
                       e.actor, body or "", "[]", to_json(data))

    @handles(K.Registered)
    def complaint_registered(self, db: Db, e: Any, position: int) -> None:
        self._file(db, e, e.reference)
        self._entry(db, e, position, "complaint_registered")

    @handles(K.Classified)
    def complaint_classified(self, db: Db, e: Any, position: int) -> None:
        self._entry(db, e, position, "complaint_classified", category=e.category,
                    target=e.target, level=e.level, to=f"team:{e.department}",
                    due_at=iso(e.due_at), review_required=e.review_required)

    @handles(K.HandlingStarted)
    def complaint_handling(self, db: Db, e: Any, position: int) -> None:
        self._entry(db, e, position, "complaint_handling")

    @handles(K.ResultProposed)
    def complaint_proposed(self, db: Db, e: Any, position: int) -> None:
        self._entry(db, e, position, "complaint_in_review", body=e.body)

    @handles(K.Reviewed)
    def complaint_reviewed(self, db: Db, e: Any, position: int) -> None:
        self._entry(db, e, position, "complaint_reviewed", body=e.comment, approved=e.approved)

    @handles(K.ResultSent)
    def complaint_sent(self, db: Db, e: Any, position: int) -> None:
        self._entry(db, e, position, "complaint_result_sent", reply_id=e.reply_id)

    @handles(K.Closed)
    def complaint_closed(self, db: Db, e: Any, position: int) -> None:
        self._entry(db, e, position, "complaint_closed")

    @handles(K.Overdue)
    def complaint_overdue(self, db: Db, e: Any, position: int) -> None:
        self._entry(db, e, position, "complaint_overdue", due_at=iso(e.due_at))

    @handles(R.Set)
    def reminder_set(self, db: Db, e: Any, position: int) -> None:
        self._file(db, e, e.reference)
        self._entry(db, e, position, "reminder_set", body=e.note, to=e.for_user, due_at=iso(e.at))

    @handles(R.Cancelled)
    def reminder_cancelled(self, db: Db, e: Any, position: int) -> None:
        self._entry(db, e, position, "reminder_cancelled")

    @handles(R.Fired)
    def reminder_fired(self, db: Db, e: Any, position: int) -> None:
        self._entry(db, e, position, "reminder_fired", due_at=iso(e.at))
