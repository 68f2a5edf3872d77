"""What the Telegram channel remembers between updates, shared by every process.

- The polling offset: the next update id to ask for.  Written after each update
  is recorded, so a restart resumes at the first update not yet recorded:
  nothing lost; an update recorded but not yet confirmed comes again and is
  recognised by its receipt (domain.requests.interactions): nothing doubled.
- Per chat, the request its latest message went to: the next message joins it
  (the domain vets the claim and opens a new request when it is closed).
- Per message the bot sent, the request it answered and the reply it was part
  of: a customer's reply_to_message threads to that request, and a delivery
  retried after a partial failure (a 429 on the second of three parts) does
  not send the parts already sent again.

Chat ids are personal (domain.personal): they are stored only as keyed hashes
(domain.ids.keyed_id, under the master key's index key), never in clear; the
references and reply ids beside them are not personal.  The tables live in
the event store's database (PostgreSQL) or in `telegram.db` in the data folder
(SQLite): a read model cannot hold this, since nobody may write a view's
tables but the view, and the offset is not derived from events.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg

from channels.chat.settings import DatabaseLike
from domain import ids

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS telegram_offsets (
        bot TEXT PRIMARY KEY,
        next_update BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS telegram_chats (
        chat_key TEXT PRIMARY KEY,
        reference TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS telegram_sent (
        message_key TEXT PRIMARY KEY,
        reference TEXT NOT NULL,
        reply_id TEXT NOT NULL,
        part INTEGER NOT NULL,
        message_id BIGINT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS telegram_sent_by_reply ON telegram_sent (reply_id, part)",
)


def chat_key(chat_id: int | str) -> str:
    return ids.keyed_id(f"telegram-chat:{chat_id}").hex


def message_key(chat_id: int | str, message_id: int | str) -> str:
    return ids.keyed_id(f"telegram-message:{chat_id}:{message_id}").hex


class TelegramState:
    """Blocking; callers on an event loop use asyncio.to_thread."""

    def __init__(self, connect: Any, placeholder: str) -> None:
        self._connect = connect
        self._placeholder = placeholder
        self._lock = threading.Lock()
        self._connection: Any = None
        for attempt in range(5):
            try:
                for statement in SCHEMA:
                    self._execute(statement)
                break
            except psycopg.Error:
                # Processes starting together race on CREATE … IF NOT EXISTS in
                # PostgreSQL; by the next try the tables exist.
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    @classmethod
    def open(cls, database: DatabaseLike, data_dir: Path) -> TelegramState:
        if database.kind == "sqlite":
            path = Path(data_dir) / "telegram.db"
            path.parent.mkdir(parents=True, exist_ok=True)

            def connect_sqlite() -> sqlite3.Connection:
                connection = sqlite3.connect(path, timeout=30, check_same_thread=False,
                                             isolation_level=None)
                connection.execute("PRAGMA journal_mode=WAL")
                return connection

            return cls(connect_sqlite, "?")

        def connect_postgres() -> psycopg.Connection[Any]:
            return psycopg.connect(
                host=database.host, port=database.port, user=database.user or "postgres",
                password=database.password, dbname=database.name, autocommit=True,
                connect_timeout=10,
            )

        return cls(connect_postgres, "%s")

    # --- polling offset -------------------------------------------------------------

    def next_update(self, bot: str) -> int | None:
        row = self._one("SELECT next_update FROM telegram_offsets WHERE bot = ?", (bot,))
        return int(row[0]) if row else None

    def save_next_update(self, bot: str, next_update: int) -> None:
        # Never backwards: a slow writer must not undo a newer position.
        self._execute(
            """INSERT INTO telegram_offsets (bot, next_update) VALUES (?, ?)
               ON CONFLICT (bot) DO UPDATE SET next_update = excluded.next_update
               WHERE telegram_offsets.next_update < excluded.next_update""",
            (bot, next_update))

    # --- threading ------------------------------------------------------------------

    def chat_reference(self, chat_id: int | str) -> str | None:
        row = self._one("SELECT reference FROM telegram_chats WHERE chat_key = ?",
                        (chat_key(chat_id),))
        return str(row[0]) if row else None

    def remember_chat(self, chat_id: int | str, reference: str) -> None:
        self._execute(
            """INSERT INTO telegram_chats (chat_key, reference) VALUES (?, ?)
               ON CONFLICT (chat_key) DO UPDATE SET reference = excluded.reference""",
            (chat_key(chat_id), reference))

    def sent_reference(self, chat_id: int | str, message_id: int | str) -> str | None:
        row = self._one("SELECT reference FROM telegram_sent WHERE message_key = ?",
                        (message_key(chat_id, message_id),))
        return str(row[0]) if row else None

    def sent_part(self, reply_id: str, part: int) -> int | None:
        row = self._one("SELECT message_id FROM telegram_sent WHERE reply_id = ? AND part = ?",
                        (reply_id, part))
        return int(row[0]) if row else None

    def remember_sent(self, chat_id: int | str, message_id: int, reference: str,
                      reply_id: str, part: int) -> None:
        self._execute(
            """INSERT INTO telegram_sent (message_key, reference, reply_id, part, message_id)
               VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_key) DO NOTHING""",
            (message_key(chat_id, message_id), reference, reply_id, part, message_id))

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    # --- plumbing -------------------------------------------------------------------

    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        return self._run(sql, params, fetch=True)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params, fetch=False)

    def _run(self, sql: str, params: Sequence[Any], *, fetch: bool) -> Any:
        sql = sql.replace("?", self._placeholder)
        with self._lock:
            for attempt in range(2):
                if self._connection is None:
                    self._connection = self._connect()
                try:
                    cursor = self._connection.execute(sql, tuple(params))
                    return cursor.fetchone() if fetch else None
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    # The server went away (a restart, a failover): reconnect once.
                    self._connection = None
                    if attempt:
                        raise
        return None
