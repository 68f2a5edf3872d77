"""The return (RMA) steps in a request's timeline: the diagnosis, the technical
judgement, the manager's approval and the hand-off to the commercial process.

A mixin of projections.timeline.TimelineView (it owns the tables): the
ReturnCase's events have the case's own stream id, so the Diagnosed event, which
names the request, links the case's stream to the request
(`timeline_cases`) and the later steps find it there.  Kinds: `diagnosis`,
`judgement`, `approval`, `commercial_hand_off`; the customer sees which step was
reached, not the reasons (projections.customer_view).
"""

from __future__ import annotations

from typing import Any

from domain import ids
from domain.aggregates.return_case import ReturnCase
from projections.view import Db, RowBuffer, handles, iso, to_json

RETURNS_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS timeline_cases (
        case_id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL
    )""",
)


class ReturnsTimeline:
    _rows: RowBuffer

    def _case_entry(self, db: Db, e: Any, position: int, kind: str, body: str,
                    **data: Any) -> None:
        row = db.one("SELECT request_id FROM timeline_cases WHERE case_id = ?",
                     (str(e.originator_id),))
        if row is None:  # a case always starts with its diagnosis, which links it
            return
        self._rows.add(row["request_id"], position, iso(e.timestamp), kind, None, None,
                       e.actor, body or "", to_json([]), to_json(data))

    @handles(ReturnCase.Diagnosed)
    def return_diagnosed(self, db: Db, e: Any, position: int) -> None:
        db.execute("INSERT INTO timeline_cases (case_id, request_id) VALUES (?, ?) "
                   "ON CONFLICT (case_id) DO NOTHING",
                   (str(e.originator_id), str(ids.request_id(e.reference))))
        self._case_entry(db, e, position, "diagnosis", e.findings, cause=e.cause,
                         serial=e.serial, model=e.model, stage="diagnosed")

    @handles(ReturnCase.Rediagnosed)
    def return_rediagnosed(self, db: Db, e: Any, position: int) -> None:
        self._case_entry(db, e, position, "diagnosis", e.findings, cause=e.cause,
                         stage="diagnosed", corrected=True)

    @handles(ReturnCase.Judged)
    def return_judged(self, db: Db, e: Any, position: int) -> None:
        self._case_entry(db, e, position, "judgement", e.reason, decision=e.decision,
                         stage="judged")

    @handles(ReturnCase.ApprovalGiven)
    def return_approval(self, db: Db, e: Any, position: int) -> None:
        self._case_entry(db, e, position, "approval", e.comment, approved=e.approved,
                         decision=e.decision if e.approved else None,
                         stage="approved" if e.approved else "not_approved")

    @handles(ReturnCase.CommercialHandOff)
    def return_handed_off(self, db: Db, e: Any, position: int) -> None:
        self._case_entry(db, e, position, "commercial_hand_off", "", decision=e.decision,
                         serial=e.serial, model=e.model, stage="handed_off")
