"""Who looked at whose data: the access log.

Staff and auditors reading a customer's 360, a request with its timeline, or
an audit export (and reading this log itself) leave one row here: who, what,
when, through which surface.  Compliance staff query and export it by actor,
customer, request and period.

A table of its own, not events: reads outnumber writes many times over, and an
event per read would swell the log that every projection replays and the audit
chain hashes.  It is append-only in the same way as the audit trail: each row
carries sha256(previous row's hash + its own canonical text), so a row edited,
deleted or inserted behind the application's back breaks the chain at that row
(`verify`).  Appends are serialised across processes (SQLite's write lock; a
PostgreSQL advisory lock) so the chain has one order.  Rows hold codes and
references only: never names, addresses, message text or search words, so an
erasure has nothing to do here.

Cost: one small insert in its own transaction per recorded read (bench figures
in issue 10's note).  Where: `<data_dir>/access_log.db` beside the SQLite views
(not in a view's file: `projections rebuild` drops those), a table
`access_log` in the PostgreSQL database.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.postgres import PostgresDatastore

from domain.private_files import create_private_file
from projections.view import Db

GENESIS = "0" * 64
LOCK_ID = 0x6C64_6163_6365_7373 & 0x7FFF_FFFF_FFFF_FFFF  # "ldaccess", for pg_advisory_xact_lock
PAGE = 1000

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS access_log (
        seq BIGINT PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        surface TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS access_log_actor ON access_log (actor, seq)",
    "CREATE INDEX IF NOT EXISTS access_log_subject ON access_log (subject, seq)",
    "CREATE INDEX IF NOT EXISTS access_log_at ON access_log (at, seq)",
    "CREATE INDEX IF NOT EXISTS access_log_reads ON access_log (actor, kind, subject, at)",
)
COLUMNS = ("seq", "at", "actor", "surface", "kind", "subject", "detail", "hash")

# What was read.
CUSTOMER_360 = "customer_360"
SERVICE_REQUEST = "service_request"
ATTACHMENT = "attachment"
AUDIT_EXPORT = "audit_export"
ACCESS_EXPORT = "access_export"


@dataclass(frozen=True)
class AccessFilter:
    actor: str | None = None
    subject: str | None = None  # a customer code or a request reference
    since: str | None = None  # ISO UTC text, inclusive
    until: str | None = None  # exclusive


@dataclass(frozen=True)
class ChainCheck:
    intact: bool
    checked: int
    first_broken: int | None


def canonical(row: dict[str, Any]) -> bytes:
    return "\n".join(str(row[c]) for c in COLUMNS if c != "hash").encode()


def chained(previous_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256(previous_hash.encode() + canonical(row)).hexdigest()


class AccessLog:
    def __init__(self, transaction: Any, dialect: str) -> None:
        # transaction(write: bool) -> context manager yielding a Db
        self._transaction = transaction
        self.dialect = dialect
        with self._transaction(write=True) as db:
            for statement in SCHEMA:
                db.execute(statement)

    def record(self, actor: str, surface: str, kind: str, subject: str = "",
               detail: dict[str, Any] | None = None) -> None:
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)
        with self._transaction(write=True) as db:
            last = db.one("SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1")
            row = {"seq": (last["seq"] + 1) if last else 1, "at": at, "actor": actor,
                   "surface": surface, "kind": kind, "subject": subject, "detail": text}
            row["hash"] = chained(last["hash"] if last else GENESIS, row)
            db.execute(f"INSERT INTO access_log ({', '.join(COLUMNS)}) "
                       f"VALUES ({', '.join('?' for _ in COLUMNS)})",
                       [row[c] for c in COLUMNS])

    @property
    def transactions(self) -> Any:
        """The store's transactions, for a table kept beside this log
        (projections.login_attempts)."""
        return self._transaction

    def last_reads(self, actor: str, kind: str, subjects: list[str]) -> dict[str, str]:
        """When `actor` last read each of `subjects` (the console's unread marks)."""
        if not subjects:
            return {}
        marks = ", ".join("?" for _ in subjects)
        with self._transaction(write=False) as db:
            rows = db.all(f"SELECT subject, MAX(at) AS at FROM access_log WHERE actor = ? "
                          f"AND kind = ? AND subject IN ({marks}) GROUP BY subject",
                          [actor, kind, *subjects])
        return {r["subject"]: r["at"] for r in rows}

    def entries(self, wanted: AccessFilter, after: int = 0, limit: int = PAGE
                ) -> list[dict[str, Any]]:
        clauses: list[str] = ["seq > ?"]
        params: list[Any] = [after]
        for clause, value in (("actor = ?", wanted.actor), ("subject = ?", wanted.subject),
                              ("at >= ?", wanted.since), ("at < ?", wanted.until)):
            if value:
                clauses.append(clause)
                params.append(value)
        with self._transaction(write=False) as db:
            rows = db.all(f"SELECT {', '.join(COLUMNS)} FROM access_log "
                          f"WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT ?",
                          [*params, limit])
        return [{**r, "detail": json.loads(r["detail"])} for r in rows]

    def verify(self) -> ChainCheck:
        previous, checked, expected_seq = GENESIS, 0, 1
        for row in self._all_rows():
            if row["seq"] != expected_seq:  # a row deleted, or one inserted out of turn
                return ChainCheck(False, checked, min(row["seq"], expected_seq))
            previous = chained(previous, row)
            if previous != row["hash"]:
                return ChainCheck(False, checked, row["seq"])
            checked += 1
            expected_seq += 1
        return ChainCheck(True, checked, None)

    def _all_rows(self) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            with self._transaction(write=False) as db:
                rows = db.all(f"SELECT {', '.join(COLUMNS)} FROM access_log WHERE seq > ? "
                              f"ORDER BY seq LIMIT ?", (after, PAGE))
            if not rows:
                return
            yield from rows
            after = rows[-1]["seq"]

    def close(self) -> None:
        closing = getattr(self._transaction, "close", None)
        if closing is not None:
            closing()


class _SQLiteTransactions:
    def __init__(self, path: Path) -> None:
        create_private_file(path)
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                                     check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, write: bool) -> Iterator[Db]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield Db(self._conn.cursor(), "sqlite")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self._conn.close()


class _PostgresTransactions:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore

    @contextmanager
    def __call__(self, write: bool) -> Iterator[Db]:
        with self._datastore.transaction(commit=write) as cursor:
            if write:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_ID,))
            yield Db(cursor, "postgresql")


def open_access_log(data_dir: Path, datastore: PostgresDatastore | None) -> AccessLog:
    """On PostgreSQL (a datastore given) in its database, else a SQLite file."""
    if datastore is not None:
        return AccessLog(_PostgresTransactions(datastore), "postgresql")
    return AccessLog(_SQLiteTransactions(data_dir / "access_log.db"), "sqlite")
