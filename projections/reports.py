"""Reports: volume by channel and type per day, backlog, first-response and
resolution times.  Durations are computed when the answering event arrives and
stored in seconds, so the averages are plain SQL on both stores."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from domain.aggregates.service_request import ServiceRequest as SR
from projections.view import Db, View, handles, iso


class ReportsView(View):
    name = "reports"
    version = 3  # 2: opened_epoch; 3: an acknowledgement is not the first response
    tables = ("report_requests", "report_daily")
    schema = (
        """CREATE TABLE IF NOT EXISTS report_requests (
            id TEXT PRIMARY KEY,
            reference TEXT NOT NULL,
            channel TEXT NOT NULL,
            type TEXT NOT NULL,
            status TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            opened_epoch BIGINT NOT NULL,
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

    def __init__(self) -> None:
        # Daily counts are summed in memory for one transaction and written once
        # at its end: a busy day is a handful of rows updated thousands of times.
        self._opened: Counter[tuple[str, str, str]] = Counter()  # (day, channel, type)
        self._touched: Counter[tuple[str, str, str]] = Counter()  # (day, channel, request id)
        self._types: dict[str, str] = {}  # request id -> type, for requests seen this batch

    def begin(self, db: Db) -> None:
        self._opened.clear()
        self._touched.clear()
        self._types.clear()

    def end(self, db: Db) -> None:
        unknown = sorted({request for _, _, request in self._touched} - self._types.keys())
        for chunk in range(0, len(unknown), 500):
            ids = unknown[chunk:chunk + 500]
            marks = ", ".join("?" for _ in ids)
            for row in db.all(f"SELECT id, type FROM report_requests WHERE id IN ({marks})", ids):
                self._types[row["id"]] = row["type"]
        counts: dict[tuple[str, str, str], list[int]] = {}
        for key, n in self._opened.items():
            counts.setdefault(key, [0, 0])[0] += n
        for (day, channel, request), n in self._touched.items():
            if request in self._types:  # an interaction on an unknown request is not counted
                counts.setdefault((day, channel, self._types[request]), [0, 0])[1] += n
        for (day, channel, request_type), (opened, interactions) in counts.items():
            db.execute(
                """INSERT INTO report_daily (day, channel, type, opened, interactions)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (day, channel, type) DO UPDATE SET
                       opened = report_daily.opened + excluded.opened,
                       interactions = report_daily.interactions + excluded.interactions""",
                (day, channel, request_type, opened, interactions),
            )

    @handles(SR.Opened)
    def opened(self, db: Db, e: Any, position: int) -> None:
        request = str(e.originator_id)
        db.execute(
            "INSERT INTO report_requests (id, reference, channel, type, status, opened_at, "
            "opened_epoch) VALUES (?, ?, ?, ?, 'new', ?, ?) ON CONFLICT (id) DO NOTHING",
            (request, e.reference, e.channel, e.request_type, iso(e.timestamp),
             _epoch(e.timestamp)),
        )
        self._types[request] = e.request_type
        self._opened[(_day(e.timestamp), e.channel, e.request_type)] += 1

    @handles(SR.MessageReceived, SR.FaxReceived, SR.CallLogged)
    def interaction(self, db: Db, e: Any, position: int) -> None:
        channel = getattr(e, "channel", None) or (
            "phone" if isinstance(e, SR.CallLogged) else "fax"
        )
        self._touched[(_day(e.timestamp), channel, str(e.originator_id))] += 1

    @handles(SR.ReplyQueued)
    def replied(self, db: Db, e: Any, position: int) -> None:
        if getattr(e, "automatic", False):
            return  # an acknowledgement is not a response
        db.execute(
            "UPDATE report_requests SET first_response_seconds = ? - opened_epoch "
            "WHERE id = ? AND first_response_seconds IS NULL",
            (_epoch(e.timestamp), str(e.originator_id)),
        )

    @handles(SR.Resolved)
    def resolved(self, db: Db, e: Any, position: int) -> None:
        db.execute(
            "UPDATE report_requests SET resolution_seconds = ? - opened_epoch, "
            "status = 'resolved' WHERE id = ?",
            (_epoch(e.timestamp), str(e.originator_id)),
        )

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
    def _set(db: Db, e: Any, column: str, value: Any) -> None:
        db.execute(f"UPDATE report_requests SET {column} = ? WHERE id = ?",
                   (value, str(e.originator_id)))


def _day(moment: datetime) -> str:
    return (iso(moment) or "")[:10]


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())
