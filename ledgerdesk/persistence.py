"""Turns settings into the `eventsourcing` library's persistence environment.

The event store is always the library's own SQLite or PostgreSQL module, chosen
here and nowhere else, so a later move (KurrentDB, say) is a change to this file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import psycopg

from domain.private_files import create_private_file
from ledgerdesk.config import ConfigError, Database, generated_master_key

# Aggregates recently used are kept in memory; the library's fast-forward reads
# any newer events from the store on every get, so several processes stay correct.
AGGREGATE_CACHE_SIZE = "10000"

# Seconds a SQLite statement waits for another process's write lock before it
# answers "database is locked" (the library's default is 5 s; a busy demo, or a
# report run beside `serve`, deserves more patience).
SQLITE_LOCK_TIMEOUT = 30

# The library's tables in a SQLite event store: the log and the snapshots
# (domain.application.Ledgerdesk takes snapshots).
SQLITE_EVENT_TABLES = frozenset({"stored_events", "stored_snapshots"})


def event_store_env(database: Database, master_key: str | None = None) -> dict[str, str]:
    """The library's settings for `database`, and where its key store is
    (ledgerdesk.keys).  `master_key`: from the settings; without it the
    environment's LEDGERDESK_MASTER_KEY, else the key generated beside a SQLite
    database."""
    env = {
        "AGGREGATE_CACHE_MAXSIZE": AGGREGATE_CACHE_SIZE,
        "LEDGERDESK_KEYRING_TOPIC": "ledgerdesk.keys:open_key_ring",
        "LEDGERDESK_MASTER_KEY": master_key or master_key_for(database),
    }
    if database.kind == "sqlite":
        assert database.path is not None
        # Not world-readable: the folder 0700 and the file 0600 when we create them
        # (SQLite gives its -wal and -shm files the database file's mode).
        create_private_file(database.path)
        env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=str(database.path))
        env["SQLITE_LOCK_TIMEOUT"] = str(SQLITE_LOCK_TIMEOUT)
        if sqlite_event_tables_exist(database.path):
            # The library's CREATE TABLE IF NOT EXISTS would be a no-op: skipping it
            # keeps opening the store (for a report, say) free of needless transactions.
            env["CREATE_TABLE"] = "no"
    else:
        env.update(postgres_env(database))
    return env


def master_key_for(database: Database) -> str:
    from_environment = os.environ.get("LEDGERDESK_MASTER_KEY", "")
    if from_environment:
        return from_environment
    if database.path is None:
        raise ConfigError("set LEDGERDESK_MASTER_KEY: PostgreSQL stores have no data "
                          "folder to keep a generated master key in")
    return generated_master_key(database.path.parent)


def sqlite_event_tables_exist(path: Path) -> bool:
    """Whether the library has made its tables in this file (one read, no write)."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=SQLITE_LOCK_TIMEOUT)) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error:
        return False  # not a database we can read: let the library say why
    return {name for (name,) in rows} >= SQLITE_EVENT_TABLES


# Seconds to wait for a PostgreSQL server to answer at all.
CONNECT_TIMEOUT = 5


def check_reachable(database: Database) -> None:
    """Raise psycopg.OperationalError, saying why (refused, unknown host, no such
    database), when a PostgreSQL store cannot be reached.  The library's pool
    would wait 30 s for a connection on each of the application's start-up
    attempts, then report only that it "couldn't get a connection"."""
    if database.kind != "postgresql":
        return
    psycopg.connect(
        host=database.host, port=database.port, user=database.user or "postgres",
        password=database.password, dbname=database.name, connect_timeout=CONNECT_TIMEOUT,
    ).close()


def postgres_env(database: Database) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database.name,
        "POSTGRES_HOST": database.host,
        "POSTGRES_PORT": str(database.port),
        "POSTGRES_USER": database.user or "postgres",
        "POSTGRES_PASSWORD": database.password,
        # Keep the library's table lock on insert (POSTGRES_ENABLE_DB_FUNCTIONS off):
        # without it a tailing projection can miss events under concurrent writers.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "no",
        "POSTGRES_POOL_SIZE": "5",
        "POSTGRES_MAX_OVERFLOW": "10",
    }


