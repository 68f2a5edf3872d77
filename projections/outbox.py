"""The email outbox: replies (and automatic acknowledgements) still to be delivered.

One row per reply queued on an email request. The recipient and the threading headers are
taken from the request's latest inbound email at the moment the reply was queued: that is the
message the agent was answering. When the next attempt is due is computed here from the
failure's own timestamp, so a rebuilt view schedules exactly what the live one did.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.aggregates.service_request import ServiceRequest as SR
from projections.view import Db, View, from_json, handles, iso, to_json

# Waits after the 1st, 2nd, 3rd and 4th failed attempt; the 5th failure is final.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

# Marks acknowledgements, which go out as automatic mail (channels.email.ingest sets it).
ACKNOWLEDGEMENT_ACTOR = "system:email-acknowledgement"


def retry_delay(attempt: int) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1-based)."""
    return RETRY_DELAYS[min(max(attempt, 1), len(RETRY_DELAYS)) - 1]


class OutboxView(View):
    name = "outbox"
    tables = ("outbox", "outbox_threads")
    schema = (
        """CREATE TABLE IF NOT EXISTS outbox_threads (
            request_id TEXT PRIMARY KEY,
            reference TEXT NOT NULL,
            subject TEXT NOT NULL,
            last_sender TEXT,
            last_message_id TEXT,
            last_references TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS outbox (
            reply_id TEXT PRIMARY KEY,
            request_id TEXT NOT NULL,
            reference TEXT NOT NULL,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            attachments TEXT NOT NULL,
            recipient TEXT,
            in_reply_to TEXT,
            thread_references TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            queued_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            delivered_at TEXT,
            message_id TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at)",
    )

    @handles(SR.Opened)
    def opened(self, db: Db, e: Any, position: Any) -> None:
        db.execute(
            """INSERT INTO outbox_threads (request_id, reference, subject) VALUES (?, ?, ?)
               ON CONFLICT (request_id) DO NOTHING""",
            (str(e.originator_id), e.reference, e.subject),
        )

    @handles(SR.MessageReceived)
    def customer_wrote(self, db: Db, e: Any, position: Any) -> None:
        if e.channel != "email":
            return
        details = e.details or {}
        db.execute(
            """UPDATE outbox_threads SET last_sender = ?, last_message_id = ?,
                   last_references = ? WHERE request_id = ?""",
            (e.sender, details.get("message_id"), to_json(details.get("references") or []),
             str(e.originator_id)),
        )

    @handles(SR.ReplyQueued)
    def reply_queued(self, db: Db, e: Any, position: Any) -> None:
        if e.channel != "email":
            return
        thread = db.one("SELECT * FROM outbox_threads WHERE request_id = ?",
                        (str(e.originator_id),))
        if thread is None:
            return
        kind = "acknowledgement" if e.actor == ACKNOWLEDGEMENT_ACTOR else "reply"
        db.execute(
            """INSERT INTO outbox (reply_id, request_id, reference, kind, subject, body,
                   attachments, recipient, in_reply_to, thread_references, status, attempts,
                   queued_at, next_attempt_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)
               ON CONFLICT (reply_id) DO NOTHING""",
            (e.reply_id, str(e.originator_id), thread["reference"], kind, thread["subject"],
             e.body, to_json(e.attachments or []), e.recipient or thread["last_sender"],
             thread["last_message_id"], thread["last_references"] or "[]",
             iso(e.timestamp), iso(e.timestamp)),
        )

    @handles(SR.ReplyDelivered)
    def delivered(self, db: Db, e: Any, position: Any) -> None:
        db.execute(
            """UPDATE outbox SET status = 'delivered', delivered_at = ?, message_id = ?
               WHERE reply_id = ?""",
            (iso(e.timestamp), e.external_id, e.reply_id),
        )

    @handles(SR.ReplyDeliveryFailed)
    def failed(self, db: Db, e: Any, position: Any) -> None:
        db.execute(
            """UPDATE outbox SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?
               WHERE reply_id = ? AND status <> 'delivered'""",
            ("failed" if e.final else "queued", e.attempt, e.error,
             iso(e.timestamp + retry_delay(e.attempt)), e.reply_id),
        )


def decoded_row(row: dict[str, Any]) -> dict[str, Any]:
    """An outbox row with its JSON columns as Python values."""
    return {
        **row,
        "attachments": from_json(row["attachments"]) or [],
        "thread_references": from_json(row["thread_references"]) or [],
    }
