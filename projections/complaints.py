"""Complaints: one row per complaint record, for the request page, the API and
the deadline timer (policies.complaint_timers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain import ids
from domain.aggregates.complaint import DONE
from domain.aggregates.complaint import Complaint as K
from domain.aggregates.customer import Customer
from domain.aggregates.service_request import ServiceRequest as SR
from projections.redaction import erased_text_sql, marks
from projections.storage import ViewStorage
from projections.view import Db, View, handles, iso


class ComplaintsView(View):
    name = "complaints"
    tables = ("complaints",)
    schema = (
        """CREATE TABLE IF NOT EXISTS complaints (
            complaint_id TEXT PRIMARY KEY,
            reference TEXT NOT NULL UNIQUE,
            request_id TEXT NOT NULL,
            customer_code TEXT NOT NULL,
            state TEXT NOT NULL,
            registered_at TEXT NOT NULL,
            category TEXT,
            target TEXT,
            level TEXT,
            department TEXT,
            due_at TEXT,
            review_required BOOLEAN NOT NULL DEFAULT FALSE,
            proposed TEXT,
            proposed_by TEXT,
            review_comment TEXT,
            result_sent_at TEXT,
            overdue_due_at TEXT,
            satisfaction INTEGER,
            changed_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS complaints_due ON complaints (state, due_at)",
        "CREATE INDEX IF NOT EXISTS complaints_request ON complaints (request_id)",
    )

    def _set(self, db: Db, e: Any, **columns: Any) -> None:
        names = ", ".join(f"{name} = ?" for name in columns)
        db.execute(f"UPDATE complaints SET {names}, changed_at = ? WHERE complaint_id = ?",
                   (*columns.values(), iso(e.timestamp), str(e.originator_id)))

    @handles(K.Registered)
    def registered(self, db: Db, e: Any, position: int) -> None:
        db.execute("""INSERT INTO complaints (complaint_id, reference, request_id, customer_code,
                          state, registered_at, changed_at)
                      VALUES (?, ?, ?, ?, 'registered', ?, ?)
                      ON CONFLICT (complaint_id) DO NOTHING""",
                   (str(e.originator_id), e.reference, str(ids.request_id(e.reference)),
                    e.customer_code, iso(e.registered_at), iso(e.timestamp)))

    @handles(K.Classified)
    def classified(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, category=e.category, target=e.target, level=e.level,
                  department=e.department, due_at=iso(e.due_at),
                  review_required=bool(e.review_required))
        db.execute("UPDATE complaints SET state = 'classified' WHERE complaint_id = ? "
                   "AND state = 'registered'", (str(e.originator_id),))

    @handles(K.HandlingStarted)
    def handling(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, state="in_handling")

    @handles(K.ResultProposed)
    def proposed(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, state="in_review", proposed=e.body, proposed_by=e.actor,
                  review_comment=None)

    @handles(K.Reviewed)
    def reviewed(self, db: Db, e: Any, position: int) -> None:
        if e.approved:
            self._set(db, e, review_comment=e.comment)
        else:
            self._set(db, e, state="in_handling", proposed=None, review_comment=e.comment)

    @handles(K.ResultSent)
    def sent(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, state="result_sent", proposed=None, result_sent_at=iso(e.timestamp))

    @handles(K.Closed)
    def closed(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, state="closed")

    @handles(K.Overdue)
    def overdue(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, overdue_due_at=iso(e.due_at))

    @handles(SR.SatisfactionRated)
    def rated(self, db: Db, e: Any, position: int) -> None:
        db.execute("UPDATE complaints SET satisfaction = ? WHERE request_id = ?",
                   (e.score, str(e.originator_id)))

    @handles(SR.CustomerChanged)
    def customer_changed(self, db: Db, e: Any, position: int) -> None:
        db.execute("UPDATE complaints SET customer_code = ? WHERE request_id = ?",
                   (e.to_code, str(e.originator_id)))

    @handles(Customer.Erased)
    def erased(self, db: Db, e: Any, position: int) -> None:
        db.execute(f"UPDATE complaints SET proposed = {erased_text_sql('proposed')}, "
                   f"review_comment = {erased_text_sql('review_comment')} "
                   f"WHERE customer_code IN ({marks(e.codes)})", e.codes)


def complaint_of(storage: ViewStorage, reference: str) -> dict[str, Any] | None:
    rows = storage.query("SELECT * FROM complaints WHERE reference = ?", (reference,))
    if not rows:
        return None
    row = dict(rows[0])
    row["review_required"] = bool(row["review_required"])
    row["overdue"] = row["overdue_due_at"] is not None and row["overdue_due_at"] == row["due_at"]
    return row


def overdue_complaints(storage: ViewStorage, now: datetime, limit: int = 200
                       ) -> list[tuple[str, datetime]]:
    """(reference, due_at) of complaints past their suggested time, unanswered and
    not yet marked for that time."""
    marks_ = ", ".join("?" for _ in DONE)
    rows = storage.query(
        f"""SELECT reference, due_at FROM complaints WHERE state NOT IN ({marks_})
            AND due_at IS NOT NULL AND due_at <= ?
            AND (overdue_due_at IS NULL OR overdue_due_at <> due_at)
            ORDER BY due_at LIMIT ?""", (*DONE, iso(now), limit))
    return [(r["reference"], datetime.fromisoformat(r["due_at"])) for r in rows]
