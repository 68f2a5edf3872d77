"""Where a view's rows and its tracking position live, written in one transaction.

Both storages subclass the `eventsourcing` library's own tracking recorders, so
the position of each view is the library's tracking record, and a batch of rows
and the new position commit or roll back together: a crash never skips an event
and never applies one twice.  Two workers projecting the same view cannot both
commit the same batch either: the library's tracking insert refuses a position
that is not ahead of the stored one.

SQLite fixes the library's table names (`tracking`), so each view has its own
database file; PostgreSQL gives each view its own tracking table instead.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from eventsourcing.persistence import Notification, OperationalError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import (
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
    SQLiteTransaction,
)

from projections.view import Db, View, iso

log = logging.getLogger(__name__)

Batch = Sequence[tuple[Any, Notification]]  # (domain event, the stored notification)

# Events a view passed over; shared by every view of a PostgreSQL store.
FAILURES_SCHEMA = """CREATE TABLE IF NOT EXISTS projection_failures (
    view TEXT NOT NULL,
    position BIGINT NOT NULL,
    topic TEXT NOT NULL,
    error TEXT NOT NULL,
    failed_at TEXT NOT NULL,
    PRIMARY KEY (view, position)
)"""


# What a view's schema statements create: `CREATE TABLE|INDEX IF NOT EXISTS name`.
SCHEMA_OBJECT = re.compile(
    r"\s*CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+IF\s+NOT\s+EXISTS\s+(\w+)", re.IGNORECASE)


def schema_objects(statements: Sequence[str]) -> set[str] | None:
    """The names (lower case) of the tables and indexes these statements create,
    or None when one of them is not such a statement."""
    names = set()
    for statement in statements:
        match = SCHEMA_OBJECT.match(statement)
        if match is None:
            return None
        names.add(match.group(1).lower())
    return names


class ViewStorage(Protocol):
    view: View

    def write(self, application_name: str, batch: Batch) -> None: ...

    def tidy(self) -> None: ...

    def max_tracking_id(self, application_name: str) -> int | None: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def drop(self, application_name: str) -> None: ...

    def skip(self, application_name: str, notification: Notification, error: str) -> None: ...

    def failures(self) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


class _ViewTransactions:
    """Writing a batch, querying and dropping: the same on both stores.  Mixed in
    before a library tracking recorder, which provides `datastore` and
    `_insert_tracking`."""

    dialect: str
    view: View
    datastore: Any
    tracking_table: str
    table_migration_identifier: str

    def write(self, application_name: str, batch: Batch) -> None:
        if not batch:
            return
        with self.datastore.transaction(commit=True) as c:
            with self._pipelined(c):
                db = Db(c, self.dialect)
                self._one_writer(c)
                self.view.begin(db)
                for event, notification in batch:
                    self.view.apply_notification(db, event, notification)
            self.view.end(db)  # outside the pipeline: COPY cannot run inside one
            # After the pipeline has synced: the library reads back the tracking
            # insert's result, which must not be mistaken for a view statement's.
            self._insert_tracking(c, Tracking(application_name, batch[-1][1].id))

    def skip(self, application_name: str, notification: Notification, error: str) -> None:
        """Pass over one event this view cannot apply (a poison event), saying
        so in `projection_failures`, in the transaction that moves the position
        past it: the view goes on, and the failure stays visible until the next
        rebuild, which tries the event again."""
        with self.datastore.transaction(commit=True) as c:
            Db(c, self.dialect).execute(
                "INSERT INTO projection_failures (view, position, topic, error, failed_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (view, position) DO NOTHING",
                (self.view.name, notification.id, notification.topic, error,
                 iso(datetime.now(UTC))),
            )
            self._insert_tracking(c, Tracking(application_name, notification.id))

    def failures(self) -> list[dict[str, Any]]:
        return self.query("SELECT position, topic, error, failed_at FROM projection_failures "
                          "WHERE view = ? ORDER BY position", (self.view.name,))

    def _pipelined(self, cursor: Any) -> AbstractContextManager[Any]:
        return nullcontext()

    def _one_writer(self, cursor: Any) -> None:
        """SQLite's write lock already lets one writer in at a time."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.datastore.transaction(commit=False) as c:
            return Db(c, self.dialect).all(sql, params)

    def drop(self, application_name: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            db = Db(c, self.dialect)
            for table in self.view.tables:
                db.execute(f"DROP TABLE IF EXISTS {table}")
            db.execute(f"DELETE FROM {self.tracking_table} WHERE application_name = ?",
                       (application_name,))
            db.execute("DELETE FROM projection_failures WHERE view = ?", (self.view.name,))
        self.create_view_tables()

    def create_view_tables(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            db = Db(c, self.dialect)
            for statement in self.view.schema:
                db.execute(statement)

    def prepare(self) -> None:
        """Create the view's tables, or, when the code's `View.version` differs
        from the one the tables were built by, drop them and forget the
        position, so the runner rebuilds the view from the log.  A view without
        a recorded version was built before versions existed: version 1."""
        if self._is_prepared():
            return  # the usual case, and opening a view for a read must not write
        view = self.view
        with self.datastore.transaction(commit=True) as c:
            db = Db(c, self.dialect)
            self._serialise_upgrades(db)
            db.execute("CREATE TABLE IF NOT EXISTS view_versions "
                       "(name TEXT PRIMARY KEY, version INTEGER NOT NULL)")
            db.execute(FAILURES_SCHEMA)
            row = db.one("SELECT version FROM view_versions WHERE name = ?", (view.name,))
            if (row["version"] if row else 1) != view.version:
                if row:  # otherwise a new store, or tables from before versions existed
                    log.warning("view %s changed shape (version %s -> %s): rebuilding it",
                                view.name, row["version"], view.version)
                for table in view.tables:
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                # Every application's position, but not the library's own marker row.
                db.execute(f"DELETE FROM {self.tracking_table} WHERE application_name <> ?",
                           (self.table_migration_identifier,))
                db.execute("DELETE FROM projection_failures WHERE view = ?", (view.name,))
            for statement in view.schema:
                db.execute(statement)
            db.execute("INSERT INTO view_versions (name, version) VALUES (?, ?) "
                       "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                       (view.name, view.version))

    def _is_prepared(self) -> bool:
        """Whether every table and index `prepare` makes exists and the view is at
        the code's version, found in a read-only transaction.  A CLI report opening
        the views beside a busy `serve` then takes no write lock at all, and an
        index added to a view's schema is still created on the next start."""
        wanted = schema_objects((*self.view.schema, FAILURES_SCHEMA))
        if wanted is None:
            return False  # a statement of a kind not recognised: let `prepare` run it
        with self.datastore.transaction(commit=False) as c:
            db = Db(c, self.dialect)
            if not {"view_versions", *self.view.tables, *wanted} <= self._object_names(db):
                return False
            row = db.one("SELECT version FROM view_versions WHERE name = ?", (self.view.name,))
        return row is not None and row["version"] == self.view.version

    def _object_names(self, db: Db) -> set[str]:
        """The tables and indexes in the view's database (lower case)."""
        raise NotImplementedError

    def _serialise_upgrades(self, db: Db) -> None:
        """SQLite serialises writers by itself."""

    def tidy(self) -> None:
        """After a bulk load, refresh the planner's statistics.  Without them a
        freshly rebuilt inbox was planned as if empty, and queues took 100 ms
        instead of 1 ms."""
        with self.datastore.transaction(commit=True) as c:
            for table in self.view.tables:
                c.execute(f"ANALYZE {table}")


class _ImmediateWriteTransaction(SQLiteTransaction):
    """A write transaction that takes SQLite's write lock when it begins.

    The library begins every transaction DEFERRED.  A deferred transaction that
    reads before it writes (most view handlers do) and then meets another
    process's write lock fails at once with "database is locked": SQLite does
    not wait (no busy timeout) for a lock a reader would have to upgrade to.
    BEGIN IMMEDIATE waits for the lock, up to the busy timeout, before reading."""

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if self.commit else "BEGIN")
        except sqlite3.OperationalError as e:
            raise OperationalError(e) from e  # as the library reports it
        return cursor


class _SQLiteViewDatastore(SQLiteDatastore):
    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[SQLiteCursor]:
        with (self.get_connection(commit=commit) as conn,
              _ImmediateWriteTransaction(conn, commit=commit) as curs, curs):
            yield curs


# Seconds a view's statement waits for another process's write lock.
SQLITE_LOCK_TIMEOUT = 30
STARTUP_ATTEMPTS = 10


class SQLiteViewStorage(_ViewTransactions, SQLiteTrackingRecorder):
    dialect = "sqlite"
    tracking_table = "tracking"

    def __init__(self, path: Path, view: View) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(_SQLiteViewDatastore(db_name=str(path), lock_timeout=SQLITE_LOCK_TIMEOUT))
        self.view = view
        # Processes starting together on a fresh file race to switch it to WAL
        # and create its tables; SQLite may answer the loser "database is locked"
        # at once instead of waiting.  By the next try the winner is done.
        for attempt in range(STARTUP_ATTEMPTS):
            try:
                if not self._has_tracking_table():
                    self.create_table()
                self.prepare()
                return
            except OperationalError:
                if attempt == STARTUP_ATTEMPTS - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))

    def _has_tracking_table(self) -> bool:
        """The library's tracking table exists with its marker row: its own
        create_table would then change nothing, yet open a write transaction."""
        try:
            return self.max_tracking_id(self.table_migration_identifier) is not None
        except OperationalError:  # no such table
            return False

    def _object_names(self, db: Db) -> set[str]:
        rows = db.all("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")
        return {row["name"].lower() for row in rows}

    def close(self) -> None:
        self.datastore.close()


class PostgresViewStorage(_ViewTransactions, PostgresTrackingRecorder):
    dialect = "postgresql"

    def __init__(self, datastore: PostgresDatastore, view: View) -> None:
        super().__init__(datastore, tracking_table_name=f"view_{view.name}_tracking")
        self.tracking_table = self.tracking_table_name
        self.view = view
        self.create_table()
        self.prepare()

    def _pipelined(self, cursor: Any) -> AbstractContextManager[Any]:
        # Statements are sent without waiting for each result (psycopg's pipeline
        # mode): a batch costs a few round trips instead of one per statement.
        # A handler that reads (SELECT) still gets its answer; it just syncs first.
        return cast(AbstractContextManager[Any], cursor.connection.pipeline())

    def _one_writer(self, cursor: Any) -> None:
        # Several serve processes, woken by the same notification, apply the same
        # batch to this view at once; row locks taken in different orders then
        # deadlock.  One writer per view at a time: the next one waits, then finds
        # the batch applied (its tracking insert conflicts) and moves on.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                       (f"ledgerdesk view {self.view.name}",))

    def tidy(self) -> None:
        """After a bulk load: statistics for the planner, and VACUUM, because a
        rebuild updates each inbox row several times and the dead versions slow
        index scans (an empty queue took 5 ms) until autovacuum comes round.
        VACUUM cannot run in a transaction; the library's pooled connections
        are in autocommit mode."""
        with self.datastore.get_connection() as conn:
            for table in self.view.tables:
                conn.execute(f"VACUUM (ANALYZE) {table}")

    def _object_names(self, db: Db) -> set[str]:
        return {row["name"] for row in db.all(
            "SELECT c.relname AS name FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()")}

    def _serialise_upgrades(self, db: Db) -> None:
        # Two processes starting together must not both drop and rebuild a view.
        key = f"ledgerdesk-view-{self.view.name}"
        db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (key,))

    def close(self) -> None:
        """The datastore is shared by every view; its owner closes it."""
