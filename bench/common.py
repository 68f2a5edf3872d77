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
