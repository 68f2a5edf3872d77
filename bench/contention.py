"""Contention benchmark: many writers on ONE busy customer.

What it measures.  N writers, each a separate process with its own `Ledgerdesk`
application on the same event store (as N `ledgerdesk serve` processes, or N
HTTP workers, would be), run for `--seconds` a realistic mix of commands for
one company customer that already has `--requests` open requests:

    open   OpenRequest for the customer                                  15 %
    reply  QueueReply on one of its requests                             35 %
    call   LogCall, half naming a request, half only the customer code   20 %
           (a call about a new issue opens a request)
    email  RecordInbound from the customer's address, 80 % carrying an   30 %
           [SR-...] thread hint, 20 % new threads

For each store and N it prints commands attempted, succeeded, refused with
ConcurrentChange (what the API answers with 409) as a count and a share, other
errors, throughput (succeeded commands per second) and p50/p99 latency of the
succeeded commands, per kind and in all.  It also counts every lost race, that
is every atomic write the store rejected because a stream it appended to had
moved on (retried or not), by the aggregate type of the stream that moved, and
for each refusal the streams of its last lost race: that is where the 409s
come from.

What it compares against.  The same N writer processes appending, for the same
time, one event per save to new, independent aggregates with the bare
`eventsourcing` library (no shared stream, no domain code) on a fresh store of
the same kind: the store's own ceiling on this machine, so the gap shows what
sharing one customer (plus the domain work) costs.

Processes, not threads: under the GIL only one thread runs Python at a time, so
threads would serialise the load-decide-save work of every command, change how
the read-modify-write windows of the writers overlap (the very thing that
makes conflicts) and cap throughput at one core.  Separate processes are also
what production runs.  They are forked after the set-up, with no connection
open, and start together at a barrier, each having read the customer once (a
warm cache, as a running server would have).

Usage: python bench/contention.py [--writers 20,50] [--seconds 10]
                                  [--stores sqlite,postgres] [--requests 100]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import random
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from bench.common import PG_ADMIN_DSN, throwaway_store
from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.errors import ConcurrentChange
from domain.requests.commands import (
    InboundMessage,
    LogCall,
    OpenRequest,
    QueueReply,
    RecordInbound,
)
from ledgerdesk.config import Database
from ledgerdesk.persistence import event_store_env

CUSTOMER = "HUAXIN"
ADDRESS = "service@huaxin.example.cn"
PHONE = "+86 10 6688 0000"
MIX = (("open", 15), ("reply", 35), ("call", 20), ("email", 30))
KINDS = tuple(kind for kind, _ in MIX)
REPLY_CHANNELS = ("email", "web")
START_TIMEOUT = 60  # seconds the writers may take to start before the run is abandoned


# --- what one writer saw, merged over writers --------------------------------

@dataclass
class Tally:
    attempted: Counter[str] = field(default_factory=Counter)
    ok: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)  # succeeded, seconds
    lost_races: Counter[str] = field(default_factory=Counter)  # stream type -> failed writes
    refusal_streams: Counter[str] = field(default_factory=Counter)  # of each refusal's last race
    errors: Counter[str] = field(default_factory=Counter)  # "Type: message" of other errors
    elapsed: float = 0.0

    def merge(self, other: Tally) -> None:
        for name in ("attempted", "ok", "refused", "other", "lost_races",
                     "refusal_streams", "errors"):
            getattr(self, name).update(getattr(other, name))
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        self.elapsed = max(self.elapsed, other.elapsed)

    def all_latencies(self) -> list[float]:
        return [v for values in self.latencies.values() for v in values]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- which streams a rejected write collided on --------------------------------

class RaceLog:
    """Wraps the recorder's insert: when a write is rejected, looks up which of
    its (stream, version) positions another writer took, and remembers the
    aggregate types of those streams.  Costs reads on lost races only."""

    def __init__(self, app: Application[Any]) -> None:
        self.recorder = app.recorder
        self.insert = app.recorder.insert_events
        self.races: list[frozenset[str]] = []  # of the command running now
        app.recorder.insert_events = self._insert  # type: ignore[method-assign]

    def _insert(self, stored_events: Any, **kwargs: Any) -> Any:
        try:
            return self.insert(stored_events, **kwargs)
        except IntegrityError:
            self.races.append(frozenset(self._taken(stored_events)))
            raise

    def _taken(self, stored_events: Any) -> Iterator[str]:
        for e in stored_events:
            found = self.recorder.select_events(
                e.originator_id, gt=e.originator_version - 1, lte=e.originator_version, limit=1
            )
            if found:
                # A topic reads "domain.aggregates.customer:Customer.ContactRecorded".
                yield e.topic.partition(":")[2].split(".")[0]


# --- the mix of commands ------------------------------------------------------

class Mix:
    """Builds one writer's commands; `references` are the requests it knows of."""

    def __init__(self, writer: int, references: list[str]) -> None:
        self.rng = random.Random(writer)
        self.writer = writer
        self.agent = f"agent{writer}@ledgerdesk.example.cn"
        self.references = list(references)
        self.count = 0

    def next(self) -> tuple[str, object]:
        self.count += 1
        kind = self.rng.choices(KINDS, weights=[w for _, w in MIX])[0]
        return kind, getattr(self, kind)()

    def unique(self) -> str:
        return f"w{self.writer}-{self.count}-{uuid.uuid4().hex[:8]}"

    def open(self) -> OpenRequest:
        return OpenRequest(CUSTOMER, "support", f"打印机故障 {self.unique()}", actor=self.agent,
                           description="设备报错 E07，请派工程师", channel="web")

    def reply(self) -> QueueReply:
        return QueueReply(self.rng.choice(self.references), f"您好，我们已收到。{self.unique()}",
                          actor=self.agent)

    def call(self) -> LogCall:
        about = self.rng.random() < 0.5
        return LogCall(
            self.unique(), self.rng.choice(("inbound", "outbound")), PHONE,
            datetime.now(UTC), actor=self.agent, agent=self.agent, notes="客户来电询问进度",
            reference=self.rng.choice(self.references) if about else None,
            customer_code=None if about else CUSTOMER,
        )

    def email(self) -> RecordInbound:
        hint = self.rng.choice(self.references) if self.rng.random() < 0.8 else None
        return RecordInbound(InboundMessage(
            channel="email", external_id=f"<{self.unique()}@huaxin.example.cn>",
            sender=ADDRESS, subject=f"Re: [{hint}] 故障" if hint else "新的故障",
            body="设备仍然报错，请尽快处理", occurred_at=datetime.now(UTC),
            thread_hints=(hint,) if hint else (),
        ))


# --- writers (each runs in its own process) ---------------------------------

def ledgerdesk_writer(index: int, env: dict[str, str], references: list[str],
                      seconds: float) -> Callable[[], Tally]:
    """Starts one Ledgerdesk writer; returns the loop to run once all are ready."""
    app = Ledgerdesk(env=env, reply_channels=REPLY_CHANNELS)
    races = RaceLog(app)
    app.customer(CUSTOMER)  # warm, as in a server that has seen this customer
    mix = Mix(index, references)

    def run() -> Tally:
        tally = Tally()
        started = time.perf_counter()
        try:
            while time.perf_counter() - started < seconds:
                kind, command = mix.next()
                races.races.clear()
                tally.attempted[kind] += 1
                t0 = time.perf_counter()
                try:
                    app.handle(command)
                except ConcurrentChange:
                    tally.refused[kind] += 1
                    last = races.races[-1] if races.races else frozenset({"?"})
                    tally.refusal_streams[" + ".join(sorted(last))] += 1
                except Exception as e:  # counted and shown, not hidden
                    tally.other[kind] += 1
                    tally.errors[f"{type(e).__name__}: {str(e)[:120]}"] += 1
                else:
                    tally.ok[kind] += 1
                    tally.latencies.setdefault(kind, []).append(time.perf_counter() - t0)
                for streams in races.races:
                    tally.lost_races.update(streams or {"(none found)"})
            tally.elapsed = time.perf_counter() - started
            return tally
        finally:
            app.close()

    return run


class PlainInteraction(Aggregate):
    @event("Recorded")
    def __init__(self, body: str) -> None:
        self.body = body


class BareApp(Application[Any]):
    pass


def bare_writer(index: int, env: dict[str, str], references: list[str],
                seconds: float) -> Callable[[], Tally]:
    """Starts one bare-library writer: one new aggregate, one event, per save."""
    app = BareApp(env=env)

    def run() -> Tally:
        tally = Tally()
        started = time.perf_counter()
        try:
            while time.perf_counter() - started < seconds:
                tally.attempted["append"] += 1
                t0 = time.perf_counter()
                try:
                    app.save(PlainInteraction(body=f"writer {index}: message"))
                except Exception as e:  # counted and shown
                    tally.other["append"] += 1
                    tally.errors[f"{type(e).__name__}: {str(e)[:120]}"] += 1
                else:
                    tally.ok["append"] += 1
                    tally.latencies.setdefault("append", []).append(time.perf_counter() - t0)
            tally.elapsed = time.perf_counter() - started
            return tally
        finally:
            app.close()

    return run


Starter = Callable[[int, dict[str, str], list[str], float], Callable[[], Tally]]


def writer_process(start: Starter, index: int, env: dict[str, str], references: list[str],
                   seconds: float, barrier: Any, results: Any) -> None:
    began = time.perf_counter()
    try:
        run = start(index, env, references, seconds)
        barrier.wait(START_TIMEOUT)
        results.put(run())
    except BaseException:
        barrier.abort()
        results.put(f"writer {index}, {time.perf_counter() - began:.1f} s after it was "
                    f"forked:\n{traceback.format_exc()}")


def run_writers(start: Starter, n: int, env: dict[str, str], references: list[str],
                seconds: float) -> Tally:
    """Forks n writers, starts them together, and merges what they saw."""
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(n + 1), ctx.Queue()
    processes = [
        ctx.Process(target=writer_process,
                    args=(start, i, env, references, seconds, barrier, results))
        for i in range(n)
    ]
    for p in processes:
        p.start()
    # If a writer fails to start, the barrier breaks and its traceback is queued.
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(START_TIMEOUT)
    outcomes = [results.get(timeout=START_TIMEOUT + seconds * 3) for _ in processes]
    for p in processes:
        p.join()
    failures = [o for o in outcomes if isinstance(o, str)]
    if failures:  # the first cause, not the writers that only saw the barrier break
        failures.sort(key=lambda tb: "BrokenBarrierError" in tb)
        raise RuntimeError(f"{len(failures)} of {n} writers failed; first:\n{failures[0]}")
    total = Tally()
    for outcome in outcomes:
        total.merge(outcome)
    return total


# --- set-up and one run -------------------------------------------------------

def seed(database: Database, requests: int) -> tuple[dict[str, str], list[str]]:
    """The busy customer and its open requests; returns the writers' env."""
    app = Ledgerdesk(env=event_store_env(database), reply_channels=REPLY_CHANNELS)
    try:
        app.handle(RegisterCustomer(CUSTOMER, "华信科技有限公司", actor="bench",
                                    identities=[("email", ADDRESS), ("phone", PHONE)]))
        references = [
            app.handle(OpenRequest(CUSTOMER, "support", f"故障 {r}", actor="bench",
                                   channel="email"))
            for r in range(requests)
        ]
    finally:
        app.close()  # nothing open when the writers fork
    return writer_env(database), references


def writer_env(database: Database) -> dict[str, str]:
    env = event_store_env(database)
    # The tables exist by now: writers skip CREATE TABLE, whose races at start-up
    # are the application's business, not this benchmark's.
    env["CREATE_TABLE"] = "no"
    if database.kind == "postgresql":
        # A writer runs one command at a time, so one connection is all it needs.
        # The application's pool opens 5 at start (20 such processes would take
        # all 100 connections of a default PostgreSQL) and may open more while a
        # connection that lost a race is being rolled back in the background.
        env["POSTGRES_POOL_SIZE"] = "1"
        env["POSTGRES_MAX_OVERFLOW"] = "0"
        # On a server shared with other work, wait longer than the default 30 s
        # for that connection rather than fail the run.
        env["POSTGRES_CONNECT_TIMEOUT"] = str(START_TIMEOUT - 10)
    return env


def wait_for_connections(database: Database, n: int, patience: float = 60.0) -> None:
    """N writers need N connections of a server others may be using too: wait
    (a while) until that many are free rather than measure writers that cannot
    connect."""
    if database.kind != "postgresql":
        return
    deadline = time.monotonic() + patience
    while True:
        with psycopg.connect(PG_ADMIN_DSN) as conn:
            limit, reserved, used = conn.execute(
                "SELECT current_setting('max_connections')::int,"
                " current_setting('superuser_reserved_connections')::int,"
                " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
            ).fetchone() or (0, 0, 0)
        free = limit - reserved - used + 1  # + this one, closed by now
        if free >= n + 2 or time.monotonic() > deadline:
            break
        time.sleep(1)
    if free < n + 2:
        raise SystemExit(f"PostgreSQL has {free} free connections of {limit}; "
                         f"{n} writers need {n + 2}")


def ledgerdesk_run(kind: str, n: int, seconds: float, requests: int) -> Tally:
    with throwaway_store(kind) as database:
        env, references = seed(database, requests)
        wait_for_connections(database, n)
        return run_writers(ledgerdesk_writer, n, env, references, seconds)


def bare_run(kind: str, n: int, seconds: float) -> Tally:
    with throwaway_store(kind) as database:
        BareApp(env=event_store_env(database)).close()  # creates the tables
        wait_for_connections(database, n)
        return run_writers(bare_writer, n, writer_env(database), [], seconds)


# --- printing -------------------------------------------------------------------

def row(label: str, t: Tally, kinds: tuple[str, ...]) -> str:
    attempted = sum(t.attempted[k] for k in kinds)
    ok = sum(t.ok[k] for k in kinds)
    refused = sum(t.refused[k] for k in kinds)
    other = sum(t.other[k] for k in kinds)
    lat = [v for k in kinds for v in t.latencies.get(k, [])]
    share = 100 * refused / attempted if attempted else 0.0
    rate = ok / t.elapsed if t.elapsed else 0.0
    return (f"  {label:<7}{attempted:>9}{ok:>9}{refused:>9}{share:>7.1f} %{other:>7}"
            f"{rate:>10.1f}{1000 * percentile(lat, 0.5):>9.1f}{1000 * percentile(lat, 0.99):>9.1f}")


HEADER = (f"  {'':<7}{'attempted':>9}{'ok':>9}{'409':>9}{'409 %':>9}{'other':>7}"
          f"{'ok/s':>10}{'p50 ms':>9}{'p99 ms':>9}")


def counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counter.most_common()) or "none"


def report(kind: str, n: int, seconds: float, desk: Tally, bare: Tally) -> None:
    print(f"\n[{kind}] {n} writers on customer {CUSTOMER}, {desk.elapsed:.1f} s")
    print(HEADER)
    for k in KINDS:
        print(row(k, desk, (k,)))
    print(row("all", desk, KINDS))
    print(f"  lost races (rejected atomic writes, retried or not), by stream that moved: "
          f"{counts(desk.lost_races)}")
    print(f"  409s by the streams of their last lost race: {counts(desk.refusal_streams)}")
    for error, count in desk.errors.most_common(5):
        print(f"  other error x{count}: {error}")
    print(f"  reference, bare eventsourcing, {n} writers on independent aggregates "
          f"({bare.elapsed:.1f} s):")
    print(row("append", bare, ("append",)))
    for error, count in bare.errors.most_common(5):
        print(f"  other error x{count}: {error}")
    desk_rate, bare_rate = (sum(t.ok.values()) / t.elapsed for t in (desk, bare))
    print(f"  Ledgerdesk on one customer: {desk_rate / bare_rate:.3f} of the bare rate")


def summary_line(kind: str, n: int, desk: Tally, bare: Tally) -> str:
    attempted, ok = sum(desk.attempted.values()), sum(desk.ok.values())
    refused, other = sum(desk.refused.values()), sum(desk.other.values())
    lat = desk.all_latencies()
    return (f"{kind:<9}{n:>4}{attempted:>10}{ok:>8}{refused:>7}"
            f"{100 * refused / max(attempted, 1):>7.1f}{other:>7}{ok / desk.elapsed:>8.1f}"
            f"{1000 * percentile(lat, 0.5):>8.1f}{1000 * percentile(lat, 0.99):>8.1f}"
            f"{sum(bare.ok.values()) / bare.elapsed:>10.1f}"
            f"{1000 * percentile(bare.all_latencies(), 0.99):>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", default="20,50", help="comma-separated writer counts")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--requests", type=int, default=100,
                        help="open requests the customer has before the run")
    args = parser.parse_args()
    writers = [int(n) for n in args.writers.split(",")]
    print(f"contention: writer processes (fork), {os.cpu_count()} CPUs, "
          f"{args.seconds:g} s a run, customer with {args.requests} open requests, "
          f"mix {', '.join(f'{k} {w} %' for k, w in MIX)}")
    lines = []
    for kind in args.stores.split(","):
        for n in writers:
            desk = ledgerdesk_run(kind, n, args.seconds, args.requests)
            bare = bare_run(kind, n, args.seconds)
            report(kind, n, args.seconds, desk, bare)
            lines.append(summary_line(kind, n, desk, bare))
    print(f"\n{'store':<9}{'N':>4}{'attempted':>10}{'ok':>8}{'409':>7}{'409 %':>7}"
          f"{'other':>7}{'ok/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'bare/s':>10}{'bare p99':>9}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
