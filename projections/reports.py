"""Reports: volume by channel and type per day, backlog, first-response and
resolution times.  Durations are computed when the answering event arrives and
stored in seconds, so the averages are plain SQL on both stores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.aggregates.service_request import ServiceRequest as SR
from projections.view import Db, View, handles, iso


class ReportsView(View):
    name = "reports"
    tables = ("report_requests", "report_daily")
    schema = (
        """CREATE TABLE IF NOT EXISTS report_requests (
            id TEXT PRIMARY KEY,
            reference TEXT NOT NULL,
            channel TEXT NOT NULL,
            type TEXT NOT NULL,
            status TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            first_response_seconds BIGINT,
            resolution_seconds BIGINT,
            satisfaction INTEGER
        )""",
        """CREATE TABLE IF NOT EXISTS report_daily (
            day TEXT NOT NULL,
            channel TEXT NOT NULL,
            type TEXT NOT NULL,
            opened INTEGER NOT NULL DEFAULT 0,
            interactions INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, channel, type)
        )""",
    )

    @handles(SR.Opened)
    def opened(self, db: Db, e: Any, position: int) -> None:
        db.execute(
            "INSERT INTO report_requests (id, reference, channel, type, status, opened_at) "
            "VALUES (?, ?, ?, ?, 'new', ?) ON CONFLICT (id) DO NOTHING",
            (str(e.originator_id), e.reference, e.channel, e.request_type, iso(e.timestamp)),
        )
        self._count(db, e, e.channel, e.request_type, opened=1)

    @handles(SR.MessageReceived, SR.FaxReceived, SR.CallLogged)
    def interaction(self, db: Db, e: Any, position: int) -> None:
        row = self._row(db, e)
        if row:
            channel = getattr(e, "channel", None) or ("phone" if isinstance(e, SR.CallLogged)
                                                      else "fax")
            self._count(db, e, channel, row["type"], interactions=1)

    @handles(SR.ReplyQueued)
    def replied(self, db: Db, e: Any, position: int) -> None:
        row = self._row(db, e)
        if row and row["first_response_seconds"] is None:
            self._set(db, e, "first_response_seconds", _seconds(row["opened_at"], e.timestamp))

    @handles(SR.Resolved)
    def resolved(self, db: Db, e: Any, position: int) -> None:
        row = self._row(db, e)
        if row:
            self._set(db, e, "resolution_seconds", _seconds(row["opened_at"], e.timestamp))
            self._set(db, e, "status", "resolved")

    @handles(SR.StatusChanged)
    def status(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, "status", e.to_status)

    @handles(SR.Escalated, SR.Closed, SR.Reopened)
    def lifecycle(self, db: Db, e: Any, position: int) -> None:
        status = {SR.Escalated: "escalated", SR.Closed: "closed", SR.Reopened: "open"}[type(e)]
        self._set(db, e, "status", status)

    @handles(SR.Assigned)
    def assigned(self, db: Db, e: Any, position: int) -> None:
        db.execute("UPDATE report_requests SET status = 'open' WHERE id = ? AND status = 'new'",
                   (str(e.originator_id),))

    @handles(SR.SatisfactionRated)
    def rated(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, "satisfaction", e.score)

    @staticmethod
    def _row(db: Db, e: Any) -> dict[str, Any] | None:
        return db.one("SELECT * FROM report_requests WHERE id = ?", (str(e.originator_id),))

    @staticmethod
    def _set(db: Db, e: Any, column: str, value: Any) -> None:
        db.execute(f"UPDATE report_requests SET {column} = ? WHERE id = ?",
                   (value, str(e.originator_id)))

    @staticmethod
    def _count(db: Db, e: Any, channel: str, request_type: str, opened: int = 0,
               interactions: int = 0) -> None:
        db.execute(
            """INSERT INTO report_daily (day, channel, type, opened, interactions)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (day, channel, type) DO UPDATE SET
                   opened = report_daily.opened + excluded.opened,
                   interactions = report_daily.interactions + excluded.interactions""",
            ((iso(e.timestamp) or "")[:10], channel, request_type, opened, interactions),
        )


def _seconds(since_iso: str, until: datetime) -> int:
    since = datetime.strptime(since_iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=until.tzinfo)
    return int((until - since).total_seconds())
