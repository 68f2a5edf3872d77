"""One active instance of each channel loop and policy, whatever the number of processes.

`serve` may run as several processes on one PostgreSQL: the API and the
projections run in all of them, but a mailbox must be read by one and an
acknowledgement queued once.  Each such job is guarded by a named lock:

- PostgreSQL: a session advisory lock held on a connection of its own.  When
  the holder dies its connection closes and the server releases the lock; a
  standby asking every `retry` seconds takes over (well within 30 s).  The
  holder checks its connection as often, and stops its job at once when the
  connection (and so the lock) is gone.
- SQLite: an exclusive `flock` on a file in the data folder, which the kernel
  releases when the process dies.  One machine, so that is enough.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import IO, Any

import psycopg

from domain.private_files import create_private_file
from ledgerdesk.config import Database

log = logging.getLogger(__name__)

Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


class Lock:
    def try_acquire(self) -> bool:
        raise NotImplementedError

    def still_held(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class PostgresLock(Lock):
    def __init__(self, database: Database, name: str) -> None:
        self.database = database
        self.key = int.from_bytes(hashlib.sha256(f"ledgerdesk:{name}".encode()).digest()[:8],
                                  "big", signed=True)
        self.connection: psycopg.Connection[Any] | None = None

    def try_acquire(self) -> bool:
        self.release()
        db = self.database
        connection = psycopg.connect(
            host=db.host, port=db.port, user=db.user or "postgres", password=db.password,
            dbname=db.name, autocommit=True, connect_timeout=5,
        )
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        if row is not None and row[0]:
            self.connection = connection
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        if self.connection is None:
            return False
        try:
            self.connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def release(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()  # closing the session releases its advisory locks


class FileLock(Lock):
    def __init__(self, folder: Path, name: str) -> None:
        self.path = folder / "locks" / f"{name}.lock"
        self.file: IO[str] | None = None

    def try_acquire(self) -> bool:
        # Private, like every file of ours: anyone able to open it could take the lock.
        create_private_file(self.path)
        handle = self.path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.file = handle
        return True

    def still_held(self) -> bool:
        return self.file is not None

    def release(self) -> None:
        handle, self.file = self.file, None
        if handle is not None:
            handle.close()


def lock_for(database: Database, data_dir: Path, name: str) -> Lock:
    if database.kind == "postgresql":
        return PostgresLock(database, name)
    return FileLock(data_dir, name)


class Leadership:
    """Runs named jobs, each only while this process holds its lock."""

    def __init__(self, database: Database, data_dir: Path, retry: float = 2.0) -> None:
        self.database = database
        self.data_dir = data_dir
        self.retry = retry
        self.held: set[str] = set()

    async def run(self, name: str, job: Job, stop: asyncio.Event) -> None:
        lock = lock_for(self.database, self.data_dir, name)
        try:
            while not stop.is_set():
                try:
                    acquired = await asyncio.to_thread(lock.try_acquire)
                except Exception as error:  # the store is away: keep asking
                    log.warning("could not ask for the %s lock: %s", name, error)
                    acquired = False
                if acquired:
                    log.info("this process now runs %s", name)
                    self.held.add(name)
                    try:
                        await self._lead(name, lock, job, stop)
                    finally:
                        self.held.discard(name)
                        await asyncio.to_thread(lock.release)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.retry)
        finally:
            await asyncio.to_thread(lock.release)

    async def _lead(self, name: str, lock: Lock, job: Job, stop: asyncio.Event) -> None:
        """Run the job until it ends, `stop` is set, or the lock is lost."""
        inner = asyncio.Event()
        task = asyncio.create_task(job(inner))
        try:
            while not task.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), self.retry)
                if task.done():
                    break
                if stop.is_set() or not await asyncio.to_thread(lock.still_held):
                    if not stop.is_set():
                        log.warning("lost the %s lock; stopping it here", name)
                    inner.set()
                    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                        await asyncio.wait_for(task, 10)
                    break
        finally:
            if not task.done():
                task.cancel()
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("%s stopped", name, exc_info=task.exception())
