"""Staff notifications: the console's list and badge for the signed-in person,
and the mail queue the notification mailer works through (policies.notifications).

A failed mail is tried again on the outbox's schedule (domain.delivery); a mail
older than MAIL_WINDOW is not sent any more (a relay configured today does not
send last month's urges)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.aggregates.customer import Customer
from domain.aggregates.notification import Notification as N
from domain.delivery import retry_delay
from projections.redaction import erased_text_sql, marks
from projections.storage import ViewStorage
from projections.view import Db, View, handles, iso

MAIL_WINDOW = timedelta(days=1)


class NotificationsView(View):
    name = "notifications"
    tables = ("notifications",)
    schema = (
        """CREATE TABLE IF NOT EXISTS notifications (
            notification_id TEXT PRIMARY KEY,
            recipient TEXT NOT NULL,
            kind TEXT NOT NULL,
            reference TEXT NOT NULL,
            customer_code TEXT NOT NULL,
            body TEXT NOT NULL,
            sender TEXT NOT NULL,
            actor TEXT NOT NULL,
            created_at TEXT NOT NULL,
            read_at TEXT,
            mail TEXT NOT NULL,
            mail_attempts INTEGER NOT NULL DEFAULT 0,
            mail_next_at TEXT NOT NULL,
            mail_error TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS notifications_recipient "
        "ON notifications (recipient, created_at)",
        "CREATE INDEX IF NOT EXISTS notifications_mail ON notifications (mail, mail_next_at)",
    )

    @handles(N.Created)
    def created(self, db: Db, e: Any, position: int) -> None:
        db.execute("""INSERT INTO notifications (notification_id, recipient, kind, reference,
                          customer_code, body, sender, actor, created_at, mail, mail_next_at)
                      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)
                      ON CONFLICT (notification_id) DO NOTHING""",
                   (str(e.originator_id), e.recipient, e.kind, e.reference, e.customer_code,
                    e.body, e.sender, e.actor, iso(e.timestamp), iso(e.timestamp)))

    @handles(N.Read)
    def read(self, db: Db, e: Any, position: int) -> None:
        db.execute("UPDATE notifications SET read_at = ? WHERE notification_id = ?",
                   (iso(e.timestamp), str(e.originator_id)))

    @handles(N.Mailed)
    def mailed(self, db: Db, e: Any, position: int) -> None:
        db.execute("UPDATE notifications SET mail = 'mailed' WHERE notification_id = ?",
                   (str(e.originator_id),))

    @handles(N.MailFailed)
    def mail_failed(self, db: Db, e: Any, position: int) -> None:
        row = db.one("SELECT mail_attempts FROM notifications WHERE notification_id = ?",
                     (str(e.originator_id),))
        attempts = int(row["mail_attempts"]) + 1 if row else 1
        db.execute("""UPDATE notifications SET mail = ?, mail_attempts = ?, mail_error = ?,
                          mail_next_at = ? WHERE notification_id = ?""",
                   ("failed" if e.final else "pending", attempts, e.error,
                    iso(e.timestamp + retry_delay(attempts)), str(e.originator_id)))

    @handles(Customer.Erased)
    def erased(self, db: Db, e: Any, position: int) -> None:
        db.execute(f"UPDATE notifications SET body = {erased_text_sql('body')} "
                   f"WHERE customer_code IN ({marks(e.codes)})", e.codes)


COLUMNS = "notification_id AS id, kind, reference, body, sender, created_at, read_at, mail"


def notifications_for(storage: ViewStorage, recipient: str, limit: int = 50,
                      unread_only: bool = False) -> list[dict[str, Any]]:
    unread = " AND read_at IS NULL" if unread_only else ""
    return storage.query(f"SELECT {COLUMNS} FROM notifications WHERE recipient = ?{unread} "
                         "ORDER BY created_at DESC, notification_id LIMIT ?",
                         (recipient.lower(), limit))


def unread_count(storage: ViewStorage, recipient: str) -> int:
    rows = storage.query("SELECT COUNT(*) AS n FROM notifications WHERE recipient = ? "
                         "AND read_at IS NULL", (recipient.lower(),))
    return int(rows[0]["n"]) if rows else 0


def mail_due(storage: ViewStorage, now: datetime, limit: int = 50) -> list[dict[str, Any]]:
    return storage.query(
        """SELECT notification_id, recipient, kind, reference, body, sender, mail_attempts
           FROM notifications WHERE mail = 'pending' AND mail_next_at <= ? AND created_at >= ?
           ORDER BY mail_next_at, notification_id LIMIT ?""",
        (iso(now), iso(now - MAIL_WINDOW), limit))
