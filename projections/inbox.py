"""The inbox: one row per service request, the agents' queues.

`awaiting_reply` is set when the customer spoke last; `sla_due_at` is when an
answer is due (from the priority's response target, or an escalation's
deadline) and is cleared by a reply.  Queues are filters over these rows.

Automatic traffic is not conversation: an acknowledgement (or a survey) the
desk sends is not an answer, and an auto-reply or bounce that arrives is not
the customer speaking, so neither touches `awaiting_reply` or `sla_due_at`.
A request opened by an automatic message has no clock at all.  A reply that
failed for good, or bounced, sets `delivery_failed`; a fax an agent must verify
(domain.requests.fax) counts in `fax_unverified` until it is confirmed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.aggregates.customer import Customer
from domain.aggregates.service_request import ServiceRequest as SR
from projections.redaction import erased_text_sql, marks
from projections.view import Db, View, handles, iso

# How soon a customer's message should be answered, by priority.
RESPONSE_TARGETS = {
    "urgent": timedelta(hours=1),
    "high": timedelta(hours=4),
    "normal": timedelta(hours=8),
    "low": timedelta(hours=24),
}


class InboxView(View):
    name = "inbox"
    version = 3  # 3: faxes waiting for verification
    tables = ("inbox",)
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
            version INTEGER NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS inbox_activity ON inbox (last_activity_at, reference)",
        "CREATE INDEX IF NOT EXISTS inbox_customer ON inbox (customer_code, last_activity_at)",
        "CREATE INDEX IF NOT EXISTS inbox_assignee ON inbox (assignee, last_activity_at)",
        "CREATE INDEX IF NOT EXISTS inbox_status ON inbox (status, last_activity_at)",
    )

    @handles(SR.Opened)
    def opened(self, db: Db, e: Any, position: int) -> None:
        due = e.timestamp + RESPONSE_TARGETS.get(e.priority, RESPONSE_TARGETS["normal"])
        db.execute(
            """INSERT INTO inbox (id, reference, customer_code, type, channel, subject, status,
                   priority, product, opened_at, last_activity_at, awaiting_reply, sla_due_at,
                   follow_up_of, version)
               VALUES (?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, 1, ?, ?, ?)
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
                iso(due),
                e.follow_up_of,
                e.originator_version,
            ),
        )

    @handles(SR.MessageReceived, SR.FaxReceived)
    def customer_wrote(self, db: Db, e: Any, position: int) -> None:
        if isinstance(e, SR.MessageReceived) and e.automatic:
            self._automatic_message(db, e)
            return
        # The clock starts at the first unanswered message and keeps running
        # through later ones.  One statement, no read: the due time for each
        # priority goes in as a parameter and SQL picks the row's.
        db.execute(
            f"""UPDATE inbox SET channel = ?, last_activity_at = ?,
                   sla_due_at = CASE WHEN awaiting_reply = 1 THEN sla_due_at
                       {" ".join("WHEN priority = ? THEN ?" for _ in RESPONSE_TARGETS)}
                       ELSE ? END,
                   awaiting_reply = 1,
                   status = CASE WHEN status = 'pending_customer' THEN 'open' ELSE status END,
                   version = ?
               WHERE id = ?""",
            (
                getattr(e, "channel", "fax"),
                iso(e.timestamp),
                *(
                    value
                    for priority, target in RESPONSE_TARGETS.items()
                    for value in (priority, iso(e.timestamp + target))
                ),
                iso(e.timestamp + RESPONSE_TARGETS["normal"]),
                e.originator_version,
                str(e.originator_id),
            ),
        )

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
            self._update(db, e, "last_activity_at = ?, awaiting_reply = 0, sla_due_at = NULL",
                         iso(e.timestamp))
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
            db, e, "last_activity_at = ?, awaiting_reply = 0, sla_due_at = NULL", iso(e.timestamp)
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
            "assignee = ?, status = CASE WHEN status = 'new' THEN 'open' ELSE status END",
            e.assignee,
        )

    @handles(SR.Transferred)
    def transferred(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "assignee = ?", e.to_assignee)

    @handles(SR.StatusChanged)
    def status_changed(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "status = ?", e.to_status)

    @handles(SR.Escalated)
    def escalated(self, db: Db, e: Any, position: int) -> None:
        self._update(
            db,
            e,
            "status = 'escalated', escalation_level = ?, sla_due_at = COALESCE(?, sla_due_at)",
            e.level,
            iso(e.due_at),
        )

    @handles(SR.Resolved)
    def resolved(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "status = 'resolved', awaiting_reply = 0, sla_due_at = NULL")

    @handles(SR.Closed)
    def closed(self, db: Db, e: Any, position: int) -> None:
        self._update(db, e, "status = 'closed', awaiting_reply = 0, sla_due_at = NULL")

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
