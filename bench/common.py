"""Shared set-up for benchmarks: throw-away stores of each kind and memory readings."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from ledgerdesk.config import Database
from ledgerdesk.keys import new_master_key

# Every store a benchmark opens, and every child process it starts, shares one
# master key (ledgerdesk.keys); throw-away stores need no key kept anywhere.
os.environ.setdefault("LEDGERDESK_MASTER_KEY", new_master_key())

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@contextmanager
def throwaway_store(kind: str) -> Iterator[Database]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ld-bench-") as tmp:
            yield Database(kind="sqlite", path=Path(tmp) / "events.db")
        return
    name = f"ld_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Database(kind="postgresql", host="127.0.0.1", port=5432, user="postgres", name=name)
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rss_mib() -> float:
    """Resident memory now (not the high-water mark), in MiB."""
    with open(f"/proc/{os.getpid()}/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def url_of(database: Database) -> str:
    """The LEDGERDESK_DATABASE_URL naming this store, for child processes."""
    if database.kind == "sqlite":
        return f"sqlite:///{database.path}"
    return f"postgresql://{database.user}@{database.host}:{database.port}/{database.name}"


def peak_rss_mib() -> float:
    """This process's resident high-water mark, in MiB.  VmHWM, not ru_maxrss:
    Linux carries ru_maxrss across exec, so a child started by a big parent
    would report the parent's size."""
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
