"""What rings the projection runner's doorbell (projections.runner.Wakeup).

- Every save in this process rings it at once (Ledgerdesk.saved_listeners).
- PostgreSQL: a statement trigger on the event table sends NOTIFY on each
  insert (delivered when the writer commits, one per transaction, whichever
  process wrote: no extra round trip for the writer); one connection per
  process LISTENs and rings.  A lost connection is reopened, and the runner is
  rung then too, since a notification may have been missed meanwhile.
- SQLite: no server to notify, so the event store's files are watched: a
  commit changes the size or time of the database or its write-ahead log.
  A `stat` of two files every `SQLITE_WATCH` seconds costs next to nothing,
  where asking the store was a query per view.

Either way the runner also looks every few seconds (its `safety`), so a lost
notification delays a view, never stops it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from domain.application import Ledgerdesk
from ledgerdesk.config import Database
from projections.runner import Wakeup

log = logging.getLogger(__name__)

CHANNEL = "ledgerdesk_events"
SQLITE_WATCH = 0.02  # seconds between two looks at the SQLite files
RECONNECT = 1.0  # seconds before the listener reconnects


class Doorbells:
    """The wake-up sources of one process, started together, stopped together."""

    def __init__(self, wakeup: Wakeup, app: Ledgerdesk, database: Database) -> None:
        self.wakeup = wakeup
        self.app = app
        self._stopping = threading.Event()
        self._listener = lambda _recordings: wakeup.ring()
        app.saved_listeners.append(self._listener)
        target: Callable[[], None] = (self._listen if database.kind == "postgresql"
                                      else self._watch_files)
        self.database = database
        self._thread = threading.Thread(target=target, name="wakeup", daemon=True)
        if database.kind == "postgresql":
            install_trigger(database, events_table(app))
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        if self._listener in self.app.saved_listeners:
            self.app.saved_listeners.remove(self._listener)
        self._thread.join(timeout=5)

    # --- PostgreSQL -----------------------------------------------------------------

    def _listen(self) -> None:
        while not self._stopping.is_set():
            try:
                with connect(self.database) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    self.wakeup.ring()  # anything written while we were not listening
                    while not self._stopping.is_set():
                        # Returns at each notification, or after the timeout to see
                        # whether we are stopping.
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.wakeup.ring()
            except psycopg.Error as error:
                log.warning("live wake-up: listening failed (%s); again in %.0fs",
                            error, RECONNECT)
                self._stopping.wait(RECONNECT)

    # --- SQLite ------------------------------------------------------------------------

    def _watch_files(self) -> None:
        assert self.database.path is not None
        paths = [str(self.database.path), f"{self.database.path}-wal"]
        last = _stamp(paths)
        while not self._stopping.wait(SQLITE_WATCH):
            now = _stamp(paths)
            if now != last:
                last = now
                self.wakeup.ring()


def _stamp(paths: list[str]) -> tuple[Any, ...]:
    stamps: list[Any] = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            stamps.append(None)
            continue
        stamps.append((st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(stamps)


def connect(database: Database) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=database.host, port=database.port, user=database.user or "postgres",
        password=database.password, dbname=database.name, autocommit=True, connect_timeout=5,
    )


def events_table(app: Ledgerdesk) -> str:
    return str(getattr(app.recorder, "events_table_name", "stored_events"))


def install_trigger(database: Database, table: str) -> None:
    """NOTIFY on every insert into the event table, once per statement.  Idempotent;
    several processes starting at once serialise on an advisory lock."""
    function = sql.Identifier(f"{table}_notify")
    trigger = sql.Identifier(f"{table}_notify")
    with connect(database) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('ledgerdesk notify trigger'))")
        conn.execute(sql.SQL(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify({channel}, ''); RETURN NULL; END $$"
        ).format(function=function, channel=sql.Literal(CHANNEL)))
        conn.execute(sql.SQL(
            "CREATE OR REPLACE TRIGGER {trigger} AFTER INSERT ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        ).format(trigger=trigger, table=sql.Identifier(table), function=function))
