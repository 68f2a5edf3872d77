"""Who has a web chat open: when each chat request's panel last checked in.

An agent's reply on a chat is delivered to the open panel when the customer
is there, and by email when they left (CONTRACT.md, "Where a reply goes").
Every `serve` process holds some panels' streams, and the delivery policy runs
in one of them, so presence is a small table beside the access log (the same
SQLite file or PostgreSQL database), not process memory.  It holds request
references and times only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS chat_presence (
        reference TEXT PRIMARY KEY,
        seen_at TEXT NOT NULL
    )""",
)
# A panel checks in every PING seconds while open; it counts as there for AWAY.
PING = 10.0
AWAY = timedelta(seconds=35)


class ChatPresence:
    def __init__(self, transaction: Any) -> None:
        # transaction(write: bool) -> context manager yielding a projections.view.Db
        self._transaction = transaction
        with self._transaction(write=True) as db:
            for statement in SCHEMA:
                db.execute(statement)

    def seen(self, reference: str, now: datetime | None = None) -> None:
        at = _iso(now or datetime.now(UTC))
        with self._transaction(write=True) as db:
            db.execute("INSERT INTO chat_presence (reference, seen_at) VALUES (?, ?) "
                       "ON CONFLICT (reference) DO UPDATE SET seen_at = excluded.seen_at",
                       (reference, at))

    def left(self, reference: str) -> None:
        with self._transaction(write=True) as db:
            db.execute("DELETE FROM chat_presence WHERE reference = ?", (reference,))

    def present(self, reference: str, now: datetime | None = None) -> bool:
        since = _iso((now or datetime.now(UTC)) - AWAY)
        with self._transaction(write=False) as db:
            row = db.one("SELECT seen_at FROM chat_presence WHERE reference = ?", (reference,))
        return row is not None and row["seen_at"] >= since


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
