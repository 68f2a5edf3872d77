"""Scale-out simulation: N `serve`-like processes on one PostgreSQL.

Each child process is what a `serve` process does to the store, without HTTP:
a Ledgerdesk application recording inbound messages as fast as it can (on
requests of its own share of customers), and the projection runner over every
view, woken by LISTEN/NOTIFY (ledgerdesk.wakeup).  Children are started (spawned) after
the set-up and start together.  Printed per N: interactions recorded per
second in all, per process, and how long the views took to drain after the
writers stopped; then, same run, N processes appending one plain event per
save with the bare library (the store's own ceiling for N writers), and N
processes recording in batches of 50 (what the mail and Telegram channels do).

Usage: python bench/scale_out.py [--processes 1,2,4] [--seconds 10]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import throwaway_store, url_of
from bench.ingest import BareApp, PlainInteraction
from bench.projections import settings_for
from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.batch import RecordInboundBatch
from domain.requests.commands import InboundMessage, OpenRequest, RecordInbound
from ledgerdesk.config import Database
from ledgerdesk.persistence import event_store_env
from ledgerdesk.wakeup import Doorbells
from projections.registry import open_read_models
from projections.runner import ProjectionThread, Wakeup, wait_until_caught_up

CUSTOMERS = 200
REQUESTS = 1000


def message(worker: int, i: int, reference: str, customer: int) -> InboundMessage:
    return InboundMessage(channel="email", external_id=f"<w{worker}.{i}@scale.cn>",
                          sender=f"c{customer}@scale.cn", subject="Re: 故障",
                          body=f"第 {i} 条：设备仍然报错", reference=reference,
                          occurred_at=datetime.now(UTC))


def child(kind: str, url: str, data_dir: str, worker: int, workers: int, seconds: float,
          references: list[str], start: Any, results: Any) -> None:
    database = Database.from_url(url)
    if kind == "bare":
        bare = BareApp(env=event_store_env(database))
        start.wait()
        done, until = 0, time.perf_counter() + seconds
        while time.perf_counter() < until:
            bare.save(PlainInteraction(body=f"message {worker}.{done}"))
            done += 1
        results.put((worker, done, 0.0))
        bare.close()
        return
    app = Ledgerdesk(env=event_store_env(database))
    models = open_read_models(settings_for(url, Path(data_dir)), app)
    wakeup = Wakeup()
    doorbells = Doorbells(wakeup, app, database)
    runner = ProjectionThread(models.projectors, wakeup=wakeup)
    runner.start()
    wait_until_caught_up(models.projectors, timeout=600)
    mine = [r for r in range(REQUESTS) if r % workers == worker]
    start.wait()
    done, until = 0, time.perf_counter() + seconds
    while time.perf_counter() < until:
        if kind == "batch":
            picks = [mine[(done + k) % len(mine)] for k in range(50)]
            batch = tuple(message(worker, done + k, references[r], r % CUSTOMERS)
                          for k, r in enumerate(picks))
            app.handle(RecordInboundBatch(batch))
            done += len(batch)
        else:
            r = mine[done % len(mine)]
            app.handle(RecordInbound(message(worker, done, references[r], r % CUSTOMERS)))
            done += 1
    stopped = time.perf_counter()
    wait_until_caught_up(models.projectors, timeout=600)
    drain = time.perf_counter() - stopped
    runner.stop()
    doorbells.close()
    models.close()
    app.close()
    results.put((worker, done, drain))


def run(kind: str, workers: int, seconds: float) -> tuple[float, float]:
    with throwaway_store("postgres") as store:
        url = url_of(store)
        data_dir = tempfile.mkdtemp(prefix="ld-scale-")
        app = Ledgerdesk(env=event_store_env(store))
        for c in range(CUSTOMERS):
            app.handle(RegisterCustomer(f"C{c:05d}", f"客户 {c}", actor="bench",
                                        identities=[("email", f"c{c}@scale.cn")]))
        references = [app.handle(OpenRequest(f"C{r % CUSTOMERS:05d}", "support", f"故障 {r}",
                                             actor="bench", channel="email"))
                      for r in range(REQUESTS)]
        app.close()
        if kind == "bare":  # its tables made here, not by N children racing to
            BareApp(env=event_store_env(store)).close()
        context = multiprocessing.get_context("spawn")
        start = context.Barrier(workers + 1)
        results = context.Queue()
        children = [context.Process(target=child, args=(kind, url, data_dir, w, workers,
                                                         seconds, references, start, results))
                    for w in range(workers)]
        for process in children:
            process.start()
        start.wait()
        outcomes = [results.get(timeout=900) for _ in children]
        for process in children:
            process.join()
        total = sum(done for _, done, _ in outcomes)
        drain = max(drained for _, _, drained in outcomes)
        return total / seconds, drain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    for n in [int(p) for p in args.processes.split(",")]:
        rate, drain = run("record", n, args.seconds)
        batched, batch_drain = run("batch", n, args.seconds)
        bare, _ = run("bare", n, args.seconds)
        print(f"N={n}: record_inbound {rate:7.0f} interactions/s ({rate / n:6.0f} per process, "
              f"views drained {drain:4.1f}s after) | batches of 50 {batched:7.0f}/s (drained "
              f"{batch_drain:4.1f}s) | bare append, same N, same run {bare:7.0f}/s | "
              f"ratios {rate / bare:.2f} / {batched / bare:.2f}")


if __name__ == "__main__":
    main()
