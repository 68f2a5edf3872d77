"""Reports: what GET /reports/summary and the console's reports page show.

One row per request (channel, type, priority, team, assignee, status, and the
moments that matter: opened, first answered, latest resolution, as epoch
seconds), one row per reply an agent sent, per resolution and per rating, and
daily counts by channel and type.  The rows keep moments, not durations: the
durations and the SLA's due times are computed when the report is read
(projections.report_queries), by functions passed in, so wall-clock time can
give way to business time (domain.sla) without a rebuild.  The customer's
classification at opening is kept beside the type and priority, since the SLA
targets depend on all three (domain.sla.policy).
`first_response_seconds` and `resolution_seconds` stay as wall-clock seconds
for the simple readers that had them.  Nothing personal is kept: staff actors
only (a customer's own actions are kept without their actor).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from domain.aggregates.service_request import ServiceRequest as SR
from domain.personal import CHANNEL_ACTOR_PREFIXES
from domain.sla.policy import SlaSettings
from projections.customer_classes import CustomerClassesView, classes_schema
from projections.view import Db, handles, iso


class ReportsView(CustomerClassesView):
    name = "reports"
    # 2: opened_epoch; 3: an acknowledgement is not the first response; 4: moments,
    # priority, team and assignee, replies, resolutions and ratings for the summary
    # 5: urges (催办) and transfers to a team's queue; 6: the customer's classification,
    # for business-time SLA targets
    version = 6
    classes_table = "report_customer_classes"
    tables = ("report_requests", "report_daily", "report_replies", "report_resolutions",
              "report_ratings", "report_urges", "report_customer_classes")
    schema = (
        """CREATE TABLE IF NOT EXISTS report_requests (
            id TEXT PRIMARY KEY,
            reference TEXT NOT NULL,
            channel TEXT NOT NULL,
            type TEXT NOT NULL,
            status TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            opened_epoch BIGINT NOT NULL,
            priority TEXT NOT NULL DEFAULT 'normal',
            team TEXT,
            assignee TEXT,
            first_response_epoch BIGINT,
            resolved_epoch BIGINT,
            first_response_seconds BIGINT,
            resolution_seconds BIGINT,
            satisfaction INTEGER,
            urges INTEGER NOT NULL DEFAULT 0,
            classification TEXT NOT NULL DEFAULT ''
        )""",
        classes_schema(classes_table),
        "CREATE INDEX IF NOT EXISTS report_requests_opened ON report_requests (opened_epoch)",
        """CREATE TABLE IF NOT EXISTS report_daily (
            day TEXT NOT NULL,
            channel TEXT NOT NULL,
            type TEXT NOT NULL,
            opened INTEGER NOT NULL DEFAULT 0,
            interactions INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, channel, type)
        )""",
        """CREATE TABLE IF NOT EXISTS report_replies (
            request_id TEXT NOT NULL,
            actor TEXT NOT NULL,
            at_epoch BIGINT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS report_replies_at ON report_replies (at_epoch)",
        """CREATE TABLE IF NOT EXISTS report_resolutions (
            request_id TEXT NOT NULL,
            actor TEXT,
            at_epoch BIGINT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS report_resolutions_at ON report_resolutions (at_epoch)",
        """CREATE TABLE IF NOT EXISTS report_ratings (
            request_id TEXT NOT NULL,
            score INTEGER NOT NULL,
            at_epoch BIGINT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS report_ratings_at ON report_ratings (at_epoch)",
        """CREATE TABLE IF NOT EXISTS report_urges (
            request_id TEXT NOT NULL,
            at_epoch BIGINT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS report_urges_at ON report_urges (at_epoch)",
    )

    def __init__(self, sla: SlaSettings | None = None) -> None:
        # The SLA settings are not used to project: report_queries reads them
        # from here to measure business time when a report is asked for.
        self.sla = sla or SlaSettings()
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

    @classmethod
    def configured(cls, location: Any) -> ReportsView:
        return cls(getattr(location, "sla", None))

    @handles(SR.Opened)
    def opened(self, db: Db, e: Any, position: int) -> None:
        request = str(e.originator_id)
        # The classification when the request opened, as the inbox's SLA clock read it.
        classification = self.classification_of(db, e.customer_code)
        db.execute(
            "INSERT INTO report_requests (id, reference, channel, type, status, opened_at, "
            "opened_epoch, priority, classification) VALUES (?, ?, ?, ?, 'new', ?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            (request, e.reference, e.channel, e.request_type, iso(e.timestamp),
             _epoch(e.timestamp), e.priority or "normal",
             classification),
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
            return  # an acknowledgement or a survey is not a response
        at = _epoch(e.timestamp)
        db.execute(
            "UPDATE report_requests SET first_response_seconds = ? - opened_epoch, "
            "first_response_epoch = ? WHERE id = ? AND first_response_epoch IS NULL",
            (at, at, str(e.originator_id)),
        )
        if _staff(e.actor):
            db.execute("INSERT INTO report_replies (request_id, actor, at_epoch) VALUES (?, ?, ?)",
                       (str(e.originator_id), e.actor, at))

    @handles(SR.Resolved)
    def resolved(self, db: Db, e: Any, position: int) -> None:
        at = _epoch(e.timestamp)
        db.execute(
            "UPDATE report_requests SET resolution_seconds = ? - opened_epoch, "
            "resolved_epoch = ?, status = 'resolved' WHERE id = ?",
            (at, at, str(e.originator_id)),
        )
        db.execute("INSERT INTO report_resolutions (request_id, actor, at_epoch) VALUES (?, ?, ?)",
                   (str(e.originator_id), e.actor if _staff(e.actor) else None, at))

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
        self._holder(db, e, e.assignee)

    @handles(SR.Transferred)
    def transferred(self, db: Db, e: Any, position: int) -> None:
        self._holder(db, e, e.to_assignee)

    @handles(SR.TransferredToTeam)
    def transferred_to_team(self, db: Db, e: Any, position: int) -> None:
        db.execute("UPDATE report_requests SET team = ?, assignee = NULL WHERE id = ?",
                   (e.team, str(e.originator_id)))

    @handles(SR.Urged)
    def urged(self, db: Db, e: Any, position: int) -> None:
        db.execute("INSERT INTO report_urges (request_id, at_epoch) VALUES (?, ?)",
                   (str(e.originator_id), _epoch(e.timestamp)))

    @handles(SR.PriorityChanged)
    def priority(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, "priority", e.priority)

    @handles(SR.SatisfactionRated)
    def rated(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, "satisfaction", e.score)
        db.execute("INSERT INTO report_ratings (request_id, score, at_epoch) VALUES (?, ?, ?)",
                   (str(e.originator_id), e.score, _epoch(e.timestamp)))

    def _holder(self, db: Db, e: Any, holder: str | None) -> None:
        """`team:CODE` sets the team and clears the assignee (CONTRACT.md)."""
        if holder and holder.startswith("team:"):
            db.execute("UPDATE report_requests SET team = ?, assignee = NULL WHERE id = ?",
                       (holder[len("team:"):], str(e.originator_id)))
        else:
            self._set(db, e, "assignee", holder)

    @staticmethod
    def _set(db: Db, e: Any, column: str, value: Any) -> None:
        db.execute(f"UPDATE report_requests SET {column} = ? WHERE id = ?",
                   (value, str(e.originator_id)))


def _staff(actor: Any) -> bool:
    """A member of staff: a customer's actor is personal, and never kept here."""
    return isinstance(actor, str) and bool(actor) and not actor.startswith(
        (*CHANNEL_ACTOR_PREFIXES, "customer:", "system:"))


def _day(moment: datetime) -> str:
    return (iso(moment) or "")[:10]


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())
