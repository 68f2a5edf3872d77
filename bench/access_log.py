"""Access log benchmark: recorded reads per second, against a bare INSERT of the
same row into the same kind of store without the hash chain and its lock.

Each recorded read is one transaction: take the append lock (SQLite's write
lock, a PostgreSQL advisory lock), read the last hash, insert the new row.
The reference inserts the same row in its own transaction with neither.

Usage: python bench/access_log.py [--reads 2000] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.postgres import PostgresDatastore

from bench.common import throwaway_store
from projections.access_log import COLUMNS, AccessLog, open_access_log


def bare_rate(log: AccessLog, n: int) -> float:
    """The same rows, each in its own transaction, with no lock and no chain."""
    transaction = log._transaction
    marks = ", ".join("?" for _ in COLUMNS)
    started = time.perf_counter()
    for i in range(n):
        with transaction(write=False) as db:
            db.execute(f"INSERT INTO access_log ({', '.join(COLUMNS)}) VALUES ({marks})",
                       (10_000_000 + i, "2026-11-24T00:00:00.000000Z", "agent@desk.cn", "api",
                        "customer_360", "HUAXIN", "{}", "0" * 64))
    return n / (time.perf_counter() - started)


def run(kind: str, reads: int) -> None:
    with throwaway_store(kind) as store, tempfile.TemporaryDirectory() as data:
        datastore = None
        if store.kind == "postgresql":
            datastore = PostgresDatastore(dbname=store.name, host=store.host, port=store.port,
                                          user=store.user, password="")
        log = open_access_log(Path(data), datastore)
        try:
            started = time.perf_counter()
            for i in range(reads):
                log.record("agent@desk.cn", "api", "customer_360", f"C{i % 500:05d}")
            rate = reads / (time.perf_counter() - started)
            started = time.perf_counter()
            check = log.verify()
            verify_rate = check.checked / (time.perf_counter() - started)
            # A bare insert commits on PostgreSQL only with commit=True: use the
            # write transaction there, minus the advisory lock it takes first.
            bare = bare_rate(log, reads) if kind == "sqlite" else bare_pg(datastore, reads)
        finally:
            log.close()
            if datastore is not None:
                datastore.close()
        print(f"[{kind}] access log record: {rate:8.0f} reads/s ({reads} recorded)")
        print(f"[{kind}] bare INSERT, own transaction, no chain: {bare:8.0f} rows/s")
        print(f"[{kind}] ratio: {rate / bare:.2f}; verify walks {verify_rate:,.0f} rows/s "
              f"(intact={check.intact})")


def bare_pg(datastore: PostgresDatastore | None, n: int) -> float:
    assert datastore is not None
    started = time.perf_counter()
    for i in range(n):
        with datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"INSERT INTO access_log ({', '.join(COLUMNS)}) VALUES "
                f"({', '.join('%s' for _ in COLUMNS)})",
                (10_000_000 + i, "2026-11-24T00:00:00.000000Z", "agent@desk.cn", "api",
                 "customer_360", "HUAXIN", "{}", "0" * 64))
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    for kind in args.stores.split(","):
        run(kind, args.reads)


if __name__ == "__main__":
    main()
