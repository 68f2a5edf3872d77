"""Turns settings into the `eventsourcing` library's persistence environment.

The event store is always the library's own SQLite or PostgreSQL module, chosen
here and nowhere else, so a later move (KurrentDB, say) is a change to this file.
"""

from __future__ import annotations

from ledgerdesk.config import Database

# Aggregates recently used are kept in memory; the library's fast-forward reads
# any newer events from the store on every get, so several processes stay correct.
AGGREGATE_CACHE_SIZE = "10000"


def event_store_env(database: Database) -> dict[str, str]:
    env = {"AGGREGATE_CACHE_MAXSIZE": AGGREGATE_CACHE_SIZE}
    if database.kind == "sqlite":
        assert database.path is not None
        database.path.parent.mkdir(parents=True, exist_ok=True)
        env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=str(database.path))
        # The library's default lock timeout is 5 s; a busy demo deserves more patience.
        env["SQLITE_LOCK_TIMEOUT"] = "30"
    else:
        env.update(postgres_env(database))
    return env


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


