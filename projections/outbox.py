"""The outbox: every reply and automatic answer still to be delivered, on every channel.

One row per queued reply, keyed by its id, with the channel the reply goes out
on.  What the channel needs to continue the customer's thread (email's
Message-ID and References, a Telegram chat) is taken from the customer's latest
message on that channel at the moment the reply was queued: that is the message
the agent was answering.  The view is fed by one projector, like every view; the
delivery policy (policies.delivery) is its only reader and writes back through
commands (ReplyDelivered / ReplyDeliveryFailed), never into these tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from domain.aggregates.customer import Customer
from domain.aggregates.service_request import ServiceRequest as SR
from domain.delivery import ACKNOWLEDGEMENT_ACTORS, SURVEY_ACTOR, Outbound, retry_delay
from projections.redaction import erased_text_sql, marks
from projections.storage import ViewStorage
from projections.view import Db, View, from_json, handles, iso, to_json

# Per-message details a sender needs to answer in the same thread.
THREAD_KEYS = ("message_id", "references", "chat_id", "message_thread_id")


class OutboxView(View):
    name = "outbox"
    version = 4  # 2: one outbox for every channel; 3: auto-replies are not answered;
    # 4: the thread's last sender before the route's address
    tables = ("outbox", "outbox_threads", "outbox_requests")
    schema = (
        """CREATE TABLE IF NOT EXISTS outbox_requests (
            request_id TEXT PRIMARY KEY,
            reference TEXT NOT NULL,
            customer_code TEXT NOT NULL,
            subject TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS outbox_threads (
            request_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            last_sender TEXT,
            thread TEXT NOT NULL,
            PRIMARY KEY (request_id, channel)
        )""",
        """CREATE TABLE IF NOT EXISTS outbox (
            reply_id TEXT PRIMARY KEY,
            request_id TEXT NOT NULL,
            reference TEXT NOT NULL,
            customer_code TEXT NOT NULL,
            channel TEXT NOT NULL,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            attachments TEXT NOT NULL,
            recipient TEXT,
            thread TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            queued_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            delivered_at TEXT,
            external_id TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, channel, next_attempt_at)",
    )

    @handles(SR.Opened)
    def opened(self, db: Db, e: Any, position: Any) -> None:
        db.execute(
            """INSERT INTO outbox_requests (request_id, reference, customer_code, subject)
               VALUES (?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING""",
            (str(e.originator_id), e.reference, e.customer_code, e.subject),
        )

    @handles(SR.CustomerChanged)
    def customer_changed(self, db: Db, e: Any, position: Any) -> None:
        db.execute("UPDATE outbox_requests SET customer_code = ? WHERE request_id = ?",
                   (e.to_code, str(e.originator_id)))

    @handles(SR.MessageReceived)
    def customer_wrote(self, db: Db, e: Any, position: Any) -> None:
        if getattr(e, "automatic", False):
            return  # an out-of-office is not whom the next reply answers
        details = e.details or {}
        thread = {"external_id": e.external_id,
                  **{key: details[key] for key in THREAD_KEYS if details.get(key)}}
        db.execute(
            """INSERT INTO outbox_threads (request_id, channel, last_sender, thread)
               VALUES (?, ?, ?, ?)
               ON CONFLICT (request_id, channel) DO UPDATE
               SET last_sender = excluded.last_sender, thread = excluded.thread""",
            (str(e.originator_id), e.channel, e.sender, to_json(thread)),
        )

    @handles(SR.ReplyQueued)
    def reply_queued(self, db: Db, e: Any, position: Any) -> None:
        request_id = str(e.originator_id)
        request = db.one("SELECT * FROM outbox_requests WHERE request_id = ?", (request_id,))
        if request is None:
            return
        thread = db.one("SELECT * FROM outbox_threads WHERE request_id = ? AND channel = ?",
                        (request_id, e.channel)) or {}
        kind = "acknowledgement" if e.actor in ACKNOWLEDGEMENT_ACTORS else \
            "survey" if e.actor == SURVEY_ACTOR else "reply"
        db.execute(
            """INSERT INTO outbox (reply_id, request_id, reference, customer_code, channel, kind,
                   subject, body, attachments, recipient, thread, status, attempts,
                   queued_at, next_attempt_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)
               ON CONFLICT (reply_id) DO NOTHING""",
            (e.reply_id, request_id, request["reference"], request["customer_code"], e.channel,
             kind, request["subject"], e.body, to_json(e.attachments or []),
             # whoever wrote last on this channel, else the address the route named
             thread.get("last_sender") or e.recipient, thread.get("thread") or "{}",
             iso(e.timestamp), iso(e.timestamp)),
        )

    @handles(SR.ReplyDelivered)
    def delivered(self, db: Db, e: Any, position: Any) -> None:
        db.execute(
            """UPDATE outbox SET status = 'delivered', delivered_at = ?, external_id = ?
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

    @handles(SR.BounceReceived)
    def bounced(self, db: Db, e: Any, position: Any) -> None:
        # The relay took it, the customer's server refused it later: failed for
        # good, whatever the row said; retrying the same address cannot help.
        db.execute("UPDATE outbox SET status = 'failed', last_error = ? WHERE reply_id = ?",
                   (f"bounced: {e.reason}", e.reply_id))

    @handles(Customer.Erased)
    def erased(self, db: Db, e: Any, position: Any) -> None:
        """Nothing more goes to an erased customer, and nothing of theirs stays here:
        their outbox rows and threads go (a read model, not the log: the
        timeline keeps what was sent, as far as the erasure allows)."""
        family = f"({marks(e.codes)})"
        db.execute(f"DELETE FROM outbox WHERE customer_code IN {family}", e.codes)
        db.execute(f"DELETE FROM outbox_threads WHERE request_id IN (SELECT request_id "
                   f"FROM outbox_requests WHERE customer_code IN {family})", e.codes)
        db.execute(f"UPDATE outbox_requests SET subject = {erased_text_sql('subject')} "
                   f"WHERE customer_code IN {family}", e.codes)


def due(
    storage: ViewStorage, channels: Iterable[str], now: datetime, limit: int = 50
) -> list[Outbound]:
    """Messages whose next attempt is due, on the channels that have a sender."""
    wanted = sorted(set(channels))
    if not wanted:
        return []
    marks = ", ".join("?" for _ in wanted)
    rows = storage.query(
        f"""SELECT * FROM outbox WHERE status = 'queued' AND channel IN ({marks})
            AND next_attempt_at <= ? ORDER BY next_attempt_at, reply_id LIMIT ?""",
        (*wanted, iso(now), limit),
    )
    return [outbound(row) for row in rows]


def outbound(row: dict[str, Any]) -> Outbound:
    return Outbound(
        reply_id=row["reply_id"], reference=row["reference"],
        customer_code=row["customer_code"], channel=row["channel"], kind=row["kind"],
        subject=row["subject"], body=row["body"],
        attachments=tuple(from_json(row["attachments"]) or ()), recipient=row["recipient"],
        thread=from_json(row["thread"]) or {}, attempt=int(row["attempts"]) + 1,
    )


def rows(storage: ViewStorage, reference: str) -> list[dict[str, Any]]:
    """Every outbox row of one request, oldest first (for tests and the console)."""
    return storage.query("SELECT * FROM outbox WHERE reference = ? ORDER BY queued_at, reply_id",
                         (reference,))
