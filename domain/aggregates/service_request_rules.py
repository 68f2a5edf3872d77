"""What the ServiceRequest aggregate (domain.aggregates.service_request) declares
apart from its events: its attachments' shape, which status may follow which,
whose data its events hold, and the keys of the SLA marks it keeps.  Kept apart
so the aggregate's module holds its events and their rules; nothing here is an
event (stored topics stay `domain.aggregates.service_request:ServiceRequest.X`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.personal import ATTACHMENTS, PersonalData, fields

Attachment = dict[str, Any]

# Which status may follow which.  Escalation, resolution, closing and
# reopening have their own events but obey the same table.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("open", "pending_customer", "escalated", "resolved", "closed"),
    "open": ("pending_customer", "escalated", "resolved", "closed"),
    "pending_customer": ("open", "escalated", "resolved", "closed"),
    "escalated": ("open", "pending_customer", "resolved", "closed"),
    "resolved": ("open", "closed"),
    "closed": ("open",),
}

# Whose data a request is, and which fields of its events are theirs (domain.personal).
PERSONAL_DATA = PersonalData(
    owner=lambda request: request.customer_code,
    events={
        "Opened": fields(
            plain="reference customer_code request_type channel priority product follow_up_of",
            personal="subject description",
        ),
        "MessageReceived": fields(
            plain="channel occurred_at automatic opened_request",
            personal="sender subject body external_id details",
            attachments=ATTACHMENTS,
        ),
        "ReplyQueued": fields(
            plain="reply_id channel automatic", personal="body recipient",
            attachments=ATTACHMENTS,
        ),
        "FaxReceived": fields(
            plain="occurred_at pages confidence page_confidences needs_verification "
                  "verification_reasons filed_from opened_request",
            personal="sender_number ocr_text external_id page_texts extracted",
            image=ATTACHMENTS, previews=ATTACHMENTS,
        ),
        "FaxCorrected": fields(personal="external_id corrections"),
        "FaxVerified": fields(plain="moved_to", personal="external_id"),
        "ReplyDelivered": fields(plain="reply_id", personal="external_id"),
        "ReplyDeliveryFailed": fields(plain="reply_id attempt final", personal="error"),
        "BounceReceived": fields(plain="reply_id", personal="reason external_id details"),
        "NoteAdded": fields(personal="body", attachments=ATTACHMENTS),
        "CallLogged": fields(
            plain="call_id direction agent started_at ended_at", personal="number notes"
        ),
        "Assigned": fields(plain="assignee"),
        "Transferred": fields(plain="from_assignee to_assignee", personal="reason"),
        "TransferredToTeam": fields(plain="from_assignee from_team team", personal="reason"),
        "Urged": fields(plain="assignee team", personal="message"),
        "StatusChanged": fields(plain="from_status to_status", personal="reason"),
        "Escalated": fields(plain="level due_at", personal="reason"),
        "Resolved": fields(personal="resolution"),
        "Closed": fields(),
        "Reopened": fields(personal="reason"),
        "PriorityChanged": fields(plain="priority"),
        "SatisfactionRated": fields(plain="score", personal="comment"),
        "ReferenceClaimed": fields(plain="claimed", personal="sender"),
        "CustomerChanged": fields(plain="from_code to_code"),
        "SlaWarned": fields(plain="target due_at"),
        "SlaBreached": fields(plain="target due_at"),
        "HandoverMissed": fields(plain="due_at escalate_to"),
        "EscalationOverdue": fields(plain="due_at from_level to_level"),
    },
)


def sla_mark(kind: str, target: str, due_at: datetime) -> str:
    return f"{kind}:{target}:{due_at.astimezone(UTC).isoformat()}"
