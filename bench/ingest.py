"""Ingest benchmark: how fast Ledgerdesk records inbound interactions, compared
with the bare `eventsourcing` library appending one plain event per interaction
to the same kind of store.

Each recorded interaction is one atomic write of three new events (the
request's MessageReceived, a CustomerContact record and the idempotency
InboundReceipt) after reading the request and customer (from the aggregate
cache, kept coherent from the log: domain.cache).  The bare reference runs on
the same store in chunks between ours, so both see the same machine load.

The same workload then runs on a fresh store with `PlainLedgerdesk` (the
library's plain mapper: no sealing of personal data) to show what encryption
costs, as a share of the ingest rate (`--no-plain` skips it).

Then as many again in batches (`--batch 50`, RecordInboundBatch: one atomic
save per batch, as an IMAP fetch records), against the same bare reference.

Usage: python bench/ingest.py [--interactions 50000] [--customers 5000]
                              [--requests 10000] [--stores sqlite,postgres]
                              [--batch 50] [--no-plain]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.common import rss_mib, throwaway_store
from bench.plain import PlainLedgerdesk
from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.batch import RecordInboundBatch
from domain.requests.commands import InboundMessage, OpenRequest, Recorded, RecordInbound
from ledgerdesk.persistence import event_store_env


class PlainInteraction(Aggregate):
    @event("Recorded")
    def __init__(self, body: str) -> None:
        self.body = body


class BareApp(Application):
    pass


def bare_seconds(app: BareApp, n: int, offset: int = 0) -> float:
    """Seconds the bare library takes to append `n` plain events, one per save."""
    started = time.perf_counter()
    for i in range(n):
        app.save(PlainInteraction(body=f"message {offset + i}"))
    return time.perf_counter() - started


def run(kind: str, interactions: int, customers: int, requests: int,
        app_class: type[Ledgerdesk] = Ledgerdesk, batch: int = 50) -> float:
    with throwaway_store(kind) as store:
        env = event_store_env(store)
        app = app_class(env=env)
        kind = f"{kind}{'' if app_class is Ledgerdesk else ', plain'}"
        rng = random.Random(7)
        started = time.perf_counter()
        for c in range(customers):
            app.handle(RegisterCustomer(
                f"C{c:05d}", f"客户 {c}", actor="bench", identities=[("email", f"c{c}@example.cn")]
            ))
        references = [
            app.handle(OpenRequest(
                f"C{r % customers:05d}", "support", f"故障 {r}", actor="bench", channel="email"
            ))
            for r in range(requests)
        ]
        setup = time.perf_counter() - started
        print(f"[{kind}] set-up: {customers} customers + {requests} requests in {setup:.1f}s")

        bare_app = BareApp(env=env)
        try:
            rate = phase(kind, app, bare_app, rng, references, customers, interactions, 1)
            if batch > 1:
                phase(kind, app, bare_app, rng, references, customers, interactions, batch)
        finally:
            app.close()
            bare_app.close()
        return rate


def phase(kind: str, app: Ledgerdesk, bare_app: BareApp, rng: random.Random,
          references: list[str], customers: int, interactions: int, batch: int) -> float:
    """Record `interactions` one at a time (batch 1) or in RecordInboundBatch of
    `batch`; the bare reference (always one plain event per save) runs in the
    same store, chunk by chunk between ours, so a neighbour's load on the machine
    weighs on both alike: the ratio is a same-run figure."""
    label = "record_inbound" if batch == 1 else f"RecordInboundBatch of {batch}"
    bare = 0.0
    chunk = max(interactions // 5 // batch * batch, batch)
    elapsed = 0.0
    chunk_started = time.perf_counter()
    done_before = 0
    for start in range(0, interactions, batch):
        messages = []
        for i in range(start, min(start + batch, interactions)):
            r = rng.randrange(len(references))
            messages.append(InboundMessage(
                channel="email",
                external_id=f"<bench-{batch}-{i}@example.cn>",
                sender=f"c{r % customers}@example.cn",
                subject="Re: 故障",
                body=f"第 {i} 条消息：设备仍然报错 E{i % 97}",
                reference=references[r],
                occurred_at=datetime.now(UTC),
            ))
        if batch == 1:
            app.handle(RecordInbound(messages[0]))
        else:
            outcomes = app.handle(RecordInboundBatch(tuple(messages)))
            assert all(isinstance(o, Recorded) and not o.duplicate for o in outcomes)
        recorded = start + len(messages)
        if recorded - done_before >= chunk or recorded == interactions:
            ours = time.perf_counter() - chunk_started
            done = recorded - done_before
            elapsed += ours
            theirs = bare_seconds(bare_app, done, offset=recorded + batch * interactions)
            bare += theirs
            print(
                f"[{kind}]   {recorded:>7} recorded: {done / ours:8.0f}/s in this chunk "
                f"(bare {done / theirs:6.0f}/s, ratio {theirs / ours:.2f}), "
                f"RSS {rss_mib():6.1f} MiB"
            )
            done_before = recorded
            chunk_started = time.perf_counter()
    rate = interactions / elapsed
    bare = interactions / bare
    print(
        f"[{kind}] Ledgerdesk {label}: {rate:8.0f} interactions/s "
        f"({interactions} in {elapsed:.1f}s)"
    )
    print(
        f"[{kind}] bare eventsourcing append: {bare:8.0f} events/s (one plain event per save, "
        f"same run)"
    )
    print(f"[{kind}] ratio ({label}): {rate / bare:.2f} of the bare rate")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--batch", type=int, default=50,
                        help="then record as many in batches of this size (1: skip)")
    parser.add_argument("--no-plain", action="store_true",
                        help="skip the run without encryption")
    args = parser.parse_args()
    for kind in args.stores.split(","):
        sealed = run(kind, args.interactions, args.customers, args.requests, batch=args.batch)
        if not args.no_plain:
            plain = run(kind, args.interactions, args.customers, args.requests, PlainLedgerdesk,
                        batch=1)
            print(f"[{kind}] sealed {sealed:.0f}/s vs plain {plain:.0f}/s: encryption costs "
                  f"{(1 - sealed / plain) * 100:.0f} % of the ingest rate")


if __name__ == "__main__":
    main()
