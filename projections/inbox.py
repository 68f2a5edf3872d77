"""The inbox: one row per service request, the agents' queues.

`awaiting_reply` is set when the customer spoke last; `sla_due_at` is when an
answer is due (from the priority's response target, or an escalation's
deadline) and is cleared by a reply.  Queues are filters over these rows.

Due times are business time (domain.sla.policy, injected at construction): the
response clock (`response_*`: first response, then next response after an
answer) and the resolution clock each have a warning and a due moment, which
the SLA timers (policies.sla_timers) read through projections.sla_queries;
`response_sla`/`resolution_sla` say "warned" or "breached" once recorded.
`handover_due_at`: a phone request nobody has taken yet (seed 001);
`escalation_due_at`: the deadline of the current escalation.

Automatic traffic is not conversation: an acknowledgement (or a survey) the
desk sends is not an answer, and an auto-reply or bounce that arrives is not
the customer speaking, so neither touches `awaiting_reply` or `sla_due_at`.
A request opened by an automatic message has no clock at all.  A reply that
failed for good, or bounced, sets `delivery_failed`; a fax an agent must verify
(domain.requests.fax) counts in `fax_unverified` until it is confirmed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.aggregates.customer import Customer
from domain.aggregates.service_request import ServiceRequest as SR
from domain.sla.policy import SlaSettings
from projections.customer_classes import CustomerClassesView, classes_schema
from projections.redaction import erased_text_sql, marks
from projections.view import Db, handles, iso

# The default response targets by priority (business time; domain.sla.policy
# holds the configurable ones).
RESPONSE_TARGETS = {
    "urgent": timedelta(hours=1),
    "high": timedelta(hours=4),
    "normal": timedelta(hours=8),
    "low": timedelta(hours=24),
}


# What stops the response clock (an answer), and every clock (resolved, closed).
STOP_RESPONSE = "response_warn_at = NULL, response_due_at = NULL"
STOP_ALL = (f"{STOP_RESPONSE}, resolution_warn_at = NULL, resolution_due_at = NULL, "
            "handover_due_at = NULL, escalation_due_at = NULL")


class InboxView(CustomerClassesView):
    name = "inbox"
    # 3: faxes waiting for verification; 4: SLA in business time, timers; 5: team;
    # 6: due times on the team's business hours (response_started_at)
    version = 6
    classes_table = "inbox_customer_classes"
    tables = ("inbox", "inbox_customer_classes")
    schema = (
        """CREATE TABLE IF NOT EXISTS inbox (
            id TEXT PRIMARY KEY,
            reference TEXT NOT NULL UNIQUE,
            customer_code TEXT NOT NULL,
            type TEXT NOT NULL,
            channel TEXT NOT NULL,
            subject TEXT NOT NULL,
            status TEXT NOT NULL,
            priority TEXT NOT NULL,
            assignee TEXT,
            team TEXT,
            product TEXT,
            opened_at TEXT NOT NULL,
            last_activity_at TEXT NOT NULL,
            awaiting_reply INTEGER NOT NULL DEFAULT 0,
            sla_due_at TEXT,
            escalation_level INTEGER NOT NULL DEFAULT 0,
            delivery_failed INTEGER NOT NULL DEFAULT 0,
            fax_unverified INTEGER NOT NULL DEFAULT 0,
            satisfaction INTEGER,
            follow_up_of TEXT,
            response_target TEXT,
            response_started_at TEXT,
            response_warn_at TEXT,
            response_due_at TEXT,
            response_sla TEXT,
            resolution_warn_at TEXT,
            resolution_due_at TEXT,
            resolution_sla TEXT,
            answered INTEGER NOT NULL DEFAULT 0,
            handover_due_at TEXT,
            escalation_due_at TEXT,
            version INTEGER NOT NULL
        )""",
        classes_schema(classes_table),
        "CREATE INDEX IF NOT EXISTS inbox_activity ON inbox (last_activity_at, reference)",
        "CREATE INDEX IF NOT EXISTS inbox_customer ON inbox (customer_code, last_activity_at)",
        "CREATE INDEX IF NOT EXISTS inbox_assignee ON inbox (assignee, last_activity_at)",
        "CREATE INDEX IF NOT EXISTS inbox_status ON inbox (status, last_activity_at)",
    )

    def __init__(self, sla: SlaSettings | None = None) -> None:
        self.sla = sla or SlaSettings()

    @classmethod
    def configured(cls, location: Any) -> InboxView:
        return cls(getattr(location, "sla", None))

    def _clock(self, start: datetime, target: timedelta | None, team: str | None = None
               ) -> tuple[Any, Any]:
        """(warning, due) as stored text, or (None, None) for no promise; on the
        hours of the team whose queue the request is in (the default ones else)."""
        if target is None:
            return None, None
        warning, due = self.sla.deadline(start, target, team)
        return iso(warning), iso(due)

    def _targets(self, db: Db, request_type: str, customer_code: str, priority: str) -> Any:
        return self.sla.targets(request_type, self.classification_of(db, customer_code),
                                priority)

    @handles(SR.Opened)
    def opened(self, db: Db, e: Any, position: int) -> None:
        targets = self._targets(db, e.request_type, e.customer_code, e.priority)
        warn, due = self._clock(e.timestamp, targets.first_response)
        resolution_warn, resolution_due = self._clock(e.timestamp, targets.resolution)
        handover = (iso(e.timestamp + self.sla.handover.within)
                    if e.channel in self.sla.handover.channels else None)
        db.execute(
            """INSERT INTO inbox (id, reference, customer_code, type, channel, subject, status,
                   priority, product, opened_at, last_activity_at, awaiting_reply, sla_due_at,
                   follow_up_of, response_target, response_started_at, response_warn_at,
                   response_due_at, resolution_warn_at, resolution_due_at, handover_due_at,
                   version)
               VALUES (?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, 1, ?, ?, 'first_response', ?, ?, ?,
                       ?, ?, ?, ?)
               ON CONFLICT (id) DO NOTHING""",
            (
                str(e.originator_id),
                e.reference,
                e.customer_code,
                e.request_type,
                e.channel,
                e.subject,
                e.priority,
                e.product,
                iso(e.timestamp),
                iso(e.timestamp),
                due,
                e.follow_up_of,
                iso(e.timestamp),
                warn,
                due,
                resolution_warn,
                resolution_due,
                handover,
                e.originator_version,
            ),
        )

    @handles(SR.MessageReceived, SR.FaxReceived)
    def customer_wrote(self, db: Db, e: Any, position: int) -> None:
        if isinstance(e, SR.MessageReceived) and e.automatic:
            self._automatic_message(db, e)
            return
        # The clock starts at the first unanswered message and keeps running
        # through later ones; its target depends on the request's type, its
        # customer's classification and its priority, so the row is read first.
        row = db.one("""SELECT type, customer_code, priority, awaiting_reply, answered, team
                        FROM inbox WHERE id = ?""", (str(e.originator_id),))
        channel = getattr(e, "channel", "fax")
        if row is None or row["awaiting_reply"]:
            self._update(db, e, """channel = ?, last_activity_at = ?, awaiting_reply = 1,
                status = CASE WHEN status = 'pending_customer' THEN 'open' ELSE status END""",
                         channel, iso(e.timestamp))
            return
        target = "next_response" if row["answered"] else "first_response"
        targets = self._targets(db, row["type"], row["customer_code"], row["priority"])
        warn, due = self._clock(e.timestamp, targets.get(target), row["team"])
        self._update(db, e, """channel = ?, last_activity_at = ?, awaiting_reply = 1,
                status = CASE WHEN status = 'pending_customer' THEN 'open' ELSE status END,
                sla_due_at = ?, response_target = ?, response_started_at = ?,
                response_warn_at = ?, response_due_at = ?, response_sla = NULL""",
                     channel, iso(e.timestamp), due, target, iso(e.timestamp), warn, due)

    @handles(SR.FaxReceived)
    def fax_received(self, db: Db, e: Any, position: int) -> None:
        if e.needs_verification:
            self._update(db, e, "fax_unverified = fax_unverified + 1")

    @handles(SR.FaxVerified)
    def fax_verified(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "fax_unverified = fax_unverified - 1, last_activity_at = ?",
                     iso(e.timestamp))

    def _automatic_message(self, db: Db, e: Any) -> None:
        """Shown as activity, but the clock neither starts nor moves; the one
        Opened started is stopped when this message is what opened the request."""
        if e.opened_request:
            self._update(db, e, "last_activity_at = ?, awaiting_reply = 0, sla_due_at = NULL, "
                         f"{STOP_RESPONSE}", iso(e.timestamp))
        else:
            self._update(db, e, "last_activity_at = ?", iso(e.timestamp))

    @handles(SR.CallLogged, SR.NoteAdded, SR.ReplyDelivered)
    def touched(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "last_activity_at = ?", iso(e.timestamp))

    @handles(SR.ReplyQueued)
    def replied(self, db: Db, e: Any, position: int) -> None:
        if e.automatic:
            self._update(db, e, "last_activity_at = ?", iso(e.timestamp))
            return
        self._update(
            db, e, f"last_activity_at = ?, awaiting_reply = 0, sla_due_at = NULL, answered = 1, "
            f"{STOP_RESPONSE}", iso(e.timestamp)
        )

    @handles(SR.ReplyDeliveryFailed)
    def delivery_failed(self, db: Db, e: Any, position: int) -> None:
        if e.final:
            self._update(db, e, "delivery_failed = 1")

    @handles(SR.BounceReceived)
    def bounced(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "delivery_failed = 1, last_activity_at = ?", iso(e.timestamp))

    @handles(SR.Assigned)
    def assigned(self, db: Db, e: Any, position: int) -> None:
        self._update(
            db,
            e,
            "assignee = ?, status = CASE WHEN status = 'new' THEN 'open' ELSE status END, "
            "handover_due_at = NULL",
            e.assignee,
        )

    @handles(SR.Transferred)
    def transferred(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "assignee = ?", e.to_assignee)

    @handles(SR.TransferredToTeam)
    def transferred_to_team(self, db: Db, e: Any, position: int) -> None:
        """A team's queue: the team set, the assignee cleared (CONTRACT.md).  The
        running clocks move onto the team's business hours, from when each began
        (the resolution clock from the opening)."""
        self._update(db, e, "team = ?, assignee = NULL", e.team)
        row = db.one("""SELECT type, customer_code, priority, opened_at, sla_due_at,
                               response_target, response_started_at, response_due_at,
                               resolution_due_at FROM inbox WHERE id = ?""",
                     (str(e.originator_id),))
        if row is None:
            return
        targets = self._targets(db, row["type"], row["customer_code"], row["priority"])
        if row["response_due_at"] and row["response_started_at"] and row["response_target"]:
            warn, due = self._clock(moment(row["response_started_at"]),
                                    targets.get(row["response_target"]), e.team)
            # sla_due_at follows the response clock unless an escalation's deadline set it.
            following = row["sla_due_at"] == row["response_due_at"]
            self._update(db, e, "response_warn_at = ?, response_due_at = ?, sla_due_at = ?",
                         warn, due, due if following else row["sla_due_at"])
        if row["resolution_due_at"]:
            warn, due = self._clock(moment(row["opened_at"]), targets.resolution, e.team)
            self._update(db, e, "resolution_warn_at = ?, resolution_due_at = ?", warn, due)

    @handles(SR.StatusChanged)
    def status_changed(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "status = ?", e.to_status)

    @handles(SR.Escalated)
    def escalated(self, db: Db, e: Any, position: int) -> None:
        self._update(
            db,
            e,
            "status = 'escalated', escalation_level = ?, sla_due_at = COALESCE(?, sla_due_at), "
            "escalation_due_at = ?",
            e.level,
            iso(e.due_at),
            iso(e.due_at),
        )

    @handles(SR.SlaWarned, SR.SlaBreached)
    def sla_recorded(self, db: Db, e: Any, position: int) -> None:
        state = "warned" if isinstance(e, SR.SlaWarned) else "breached"
        column = "resolution_sla" if e.target == "resolution" else "response_sla"
        # A warning that arrives after its breach (two timers racing) does not undo it.
        self._update(db, e, f"{column} = CASE WHEN {column} = 'breached' THEN {column} "
                            f"ELSE ? END", state)

    @handles(SR.HandoverMissed)
    def handover_missed(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "handover_due_at = NULL")

    @handles(SR.EscalationOverdue)
    def escalation_overdue(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "status = 'escalated', escalation_level = ?, "
                            "escalation_due_at = NULL", e.to_level)

    @handles(SR.Resolved)
    def resolved(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, f"status = 'resolved', awaiting_reply = 0, sla_due_at = NULL, "
                            f"{STOP_ALL}")

    @handles(SR.Closed)
    def closed(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, f"status = 'closed', awaiting_reply = 0, sla_due_at = NULL, "
                            f"{STOP_ALL}")

    @handles(SR.Reopened)
    def reopened(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "status = 'open', last_activity_at = ?", iso(e.timestamp))

    @handles(SR.PriorityChanged)
    def priority_changed(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "priority = ?", e.priority)

    @handles(SR.SatisfactionRated)
    def rated(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "satisfaction = ?", e.score)

    @handles(SR.CustomerChanged)
    def customer_changed(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "customer_code = ?", e.to_code)

    @handles(Customer.Erased)
    def erased(self, db: Db, e: Any, position: int) -> None:
        db.execute(f"UPDATE inbox SET subject = {erased_text_sql('subject')} "
                   f"WHERE customer_code IN ({marks(e.codes)})", e.codes)

    def _update(self, db: Db, e: Any, assignments: str, *values: Any) -> None:
        db.execute(
            f"UPDATE inbox SET {assignments}, version = ? WHERE id = ?",
            (*values, e.originator_version, str(e.originator_id)),
        )


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
