"""The request timeline: every interaction and action of a request, in order,
whatever the channel.  Keyed by the request's aggregate id (derived from its
reference, see domain.ids) and the event's position in the log.

When a customer is erased, the rows of their requests are re-derived from the
events, which then read with placeholders (projections.redaction)."""

from __future__ import annotations

from typing import Any

from domain.aggregates.customer import Customer
from domain.aggregates.service_request import ServiceRequest as SR
from projections.field_timeline import SCHEMA as FIELD_SCHEMA
from projections.field_timeline import FieldTimeline
from projections.redaction import marks
from projections.timeline_returns import RETURNS_SCHEMA, ReturnsTimeline
from projections.timeline_workflows import SCHEMA as WORKFLOW_SCHEMA
from projections.timeline_workflows import WorkflowEntries
from projections.view import Db, RowBuffer, View, handles, iso, to_json


class TimelineView(WorkflowEntries, ReturnsTimeline, FieldTimeline, View):
    name = "timeline"
    # 2: requests' customers, for erasure; 3: fax pages and verification; 4: SLA;
    # 5: transfers to a team, urges; 6: complaints and reminders; 7: field service
    # (projections.field_timeline); 8: return (RMA) steps (projections.timeline_returns)
    version = 8
    tables = ("timeline", "timeline_requests", "timeline_workflows", "timeline_field_jobs",
              "timeline_cases")
    schema = (
        """CREATE TABLE IF NOT EXISTS timeline_requests (
            request_id TEXT PRIMARY KEY,
            customer_code TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS timeline_requests_customer "
        "ON timeline_requests (customer_code)",
        """CREATE TABLE IF NOT EXISTS timeline (
            request_id TEXT NOT NULL,
            position BIGINT NOT NULL,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            channel TEXT,
            direction TEXT,
            actor TEXT NOT NULL,
            body TEXT NOT NULL,
            attachments TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (request_id, position)
        )""",
        # The console's text search reads the newest rows first.
        "CREATE INDEX IF NOT EXISTS timeline_position ON timeline (position)",
        # What a customer may see: the requests they wrote on (queries.own_request_ids).
        "CREATE INDEX IF NOT EXISTS timeline_actor ON timeline (actor)",
        *WORKFLOW_SCHEMA,
        *RETURNS_SCHEMA,
        *FIELD_SCHEMA,
    )

    def __init__(self) -> None:
        self._rows = RowBuffer("timeline", (
            "request_id", "position", "at", "kind", "channel", "direction", "actor", "body",
            "attachments", "data",
        ))

    def begin(self, db: Db) -> None:
        self._rows.clear()

    def end(self, db: Db) -> None:
        self._rows.flush(db)

    def _add(self, db: Db, e: Any, position: int, kind: str, *, body: str = "",
             channel: str | None = None, direction: str | None = None,
             attachments: list[Any] | None = None, request_id: str | None = None,
             **data: Any) -> None:
        self._rows.add(request_id or str(e.originator_id), position, iso(e.timestamp), kind,
                       channel, direction, e.actor, body or "", to_json(attachments or []),
                       to_json(data))

    @handles(SR.Opened)
    def opened(self, db: Db, e: Any, position: int) -> None:
        db.execute("INSERT INTO timeline_requests (request_id, customer_code) VALUES (?, ?) "
                   "ON CONFLICT (request_id) DO NOTHING",
                   (str(e.originator_id), e.customer_code))
        self._add(db, e, position, "opened", body=e.description, channel=e.channel,
                  subject=e.subject, type=e.request_type, priority=e.priority,
                  follow_up_of=e.follow_up_of)

    @handles(SR.MessageReceived)
    def message(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "message", body=e.body, channel=e.channel,
                  direction="inbound", attachments=e.attachments, subject=e.subject,
                  sender=e.sender, occurred_at=iso(e.occurred_at),
                  **{**e.details, "automatic": e.automatic})

    @handles(SR.FaxReceived)
    def fax(self, db: Db, e: Any, position: int) -> None:
        # The image first, then a PNG per page (browsers show no TIFF).
        self._add(db, e, position, "fax", body=e.ocr_text, channel="fax", direction="inbound",
                  attachments=[e.image, *e.previews], sender=e.sender_number,
                  confidence=e.confidence, pages=e.pages, page_texts=e.page_texts,
                  page_confidences=e.page_confidences, extracted=e.extracted,
                  external_id=e.external_id, needs_verification=e.needs_verification,
                  verification_reasons=e.verification_reasons, filed_from=e.filed_from)

    @handles(SR.FaxCorrected)
    def fax_corrected(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "fax_correction", external_id=e.external_id,
                  corrections=e.corrections)

    @handles(SR.FaxVerified)
    def fax_verified(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "fax_verified", external_id=e.external_id,
                  moved_to=e.moved_to)

    @handles(SR.ReplyQueued)
    def reply(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "reply", body=e.body, channel=e.channel,
                  direction="outbound", attachments=e.attachments, reply_id=e.reply_id,
                  automatic=e.automatic)

    @handles(SR.ReplyDelivered)
    def delivered(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "delivery", direction="outbound", reply_id=e.reply_id,
                  external_id=e.external_id)

    @handles(SR.ReplyDeliveryFailed)
    def failed(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "delivery_failed", body=e.error, direction="outbound",
                  reply_id=e.reply_id, attempt=e.attempt, final=e.final)

    @handles(SR.BounceReceived)
    def bounced(self, db: Db, e: Any, position: int) -> None:
        # Shown like a final delivery failure of that reply, with the bounce's reason.
        self._add(db, e, position, "delivery_failed", body=e.reason, direction="outbound",
                  **{**e.details, "reply_id": e.reply_id, "final": True,
                     "bounce": e.external_id})

    @handles(SR.NoteAdded)
    def note(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "note", body=e.body, attachments=e.attachments)

    @handles(SR.CallLogged)
    def call(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "call", body=e.notes, channel="phone", direction=e.direction,
                  call_id=e.call_id, number=e.number, agent=e.agent,
                  started_at=iso(e.started_at), ended_at=iso(e.ended_at))

    @handles(SR.Assigned)
    def assigned(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "assignment", to=e.assignee)

    @handles(SR.Transferred)
    def transferred(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "assignment", body=e.reason, to=e.to_assignee,
                  **{"from": e.from_assignee})

    @handles(SR.TransferredToTeam)
    def transferred_to_team(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "assignment", body=e.reason, to=f"team:{e.team}",
                  **{"from": e.from_assignee})

    @handles(SR.Urged)
    def urged(self, db: Db, e: Any, position: int) -> None:
        """催办: the manager's message; whom it pressed (the assignee or the team)."""
        self._add(db, e, position, "urged", body=e.message, to=e.assignee or (
            f"team:{e.team}" if e.team else None))

    @handles(SR.StatusChanged)
    def status(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "status", body=e.reason, to=e.to_status,
                  **{"from": e.from_status})

    @handles(SR.Escalated)
    def escalated(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "status", body=e.reason, to="escalated", level=e.level,
                  due_at=iso(e.due_at))

    @handles(SR.SlaWarned, SR.SlaBreached)
    def sla(self, db: Db, e: Any, position: int) -> None:
        kind = "sla_warning" if isinstance(e, SR.SlaWarned) else "sla_breach"
        self._add(db, e, position, kind, target=e.target, due_at=iso(e.due_at))

    @handles(SR.HandoverMissed)
    def handover_missed(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "handover_missed", due_at=iso(e.due_at), to=e.escalate_to)

    @handles(SR.EscalationOverdue)
    def escalation_overdue(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "escalation_overdue", due_at=iso(e.due_at),
                  level=e.to_level, **{"from": e.from_level})

    @handles(SR.Resolved)
    def resolved(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "status", body=e.resolution, to="resolved")

    @handles(SR.Closed)
    def closed(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "status", to="closed")

    @handles(SR.Reopened)
    def reopened(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "status", body=e.reason, to="open")

    @handles(SR.PriorityChanged)
    def priority(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "priority", to=e.priority)

    @handles(SR.SatisfactionRated)
    def rated(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "satisfaction", body=e.comment, score=e.score)

    @handles(SR.ReferenceClaimed)
    def claimed(self, db: Db, e: Any, position: int) -> None:
        self._add(db, e, position, "claim", body=f"claims {e.claimed}", claimed=e.claimed,
                  sender=e.sender)

    @handles(SR.CustomerChanged)
    def customer(self, db: Db, e: Any, position: int) -> None:
        db.execute("UPDATE timeline_requests SET customer_code = ? WHERE request_id = ?",
                   (e.to_code, str(e.originator_id)))
        self._add(db, e, position, "customer", to=e.to_code, **{"from": e.from_code})

    @handles(Customer.Erased)
    def erased(self, db: Db, e: Any, position: int) -> None:
        requests = [r["request_id"] for r in db.all(
            f"SELECT request_id FROM timeline_requests WHERE customer_code IN ({marks(e.codes)})",
            e.codes)]
        for request_id in requests:
            positions = [r["position"] for r in db.all(
                "SELECT position FROM timeline WHERE request_id = ?", (request_id,))]
            db.execute("DELETE FROM timeline WHERE request_id = ?", (request_id,))
            for event, notification in self.reread(positions):
                self.apply(db, event, notification.id)
