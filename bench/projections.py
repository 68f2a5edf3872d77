"""Projection benchmark: full rebuild rate of every read model, peak memory of
the rebuild at two sizes, and p50/p99 latency of GET /inbox and GET
/customers/{code}/360 over real HTTP (uvicorn on loopback).

Events are generated through the application (record_inbound and friends), so
the log has the real mix of event types.  The reference figure for the rebuild
is the bare read rate: select_notifications + decoding alone, no view writes.

Usage: python bench/projections.py [--customers 2000] [--requests 10000]
                                   [--interactions 20000] [--store postgres]
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import uvicorn

from bench.common import throwaway_store
from domain.application import InboundMessage, Ledgerdesk
from ledgerdesk.config import Settings
from ledgerdesk.persistence import event_store_env
from projections.registry import open_read_models
from read_api.app import create_app


def generate(app: Ledgerdesk, customers: int, requests: int, interactions: int) -> None:
    rng = random.Random(11)
    app.add_user("agent@bench", ["agent"], actor="bench")
    for c in range(customers):
        app.register_customer(f"C{c:05d}", f"客户 {c}", actor="bench",
                              identities=[("email", f"c{c}@bench.cn")])
    refs = [app.open_request(f"C{r % customers:05d}", "support", f"故障 {r}", actor="bench",
                             channel="email") for r in range(requests)]
    for i in range(interactions):
        r = rng.randrange(requests)
        app.record_inbound(InboundMessage(
            channel="email", external_id=f"<p{i}@bench.cn>", sender=f"c{r % customers}@bench.cn",
            subject="Re: 故障", body=f"消息 {i}", reference=refs[r]))
        if i % 3 == 0:
            app.queue_reply(refs[r], f"回复 {i}", actor="agent@bench")
        if i % 7 == 0 and app.service_request(refs[r]).assignee is None:
            app.assign(refs[r], "agent@bench", actor="agent@bench")


def bare_read_rate(app: Ledgerdesk) -> float:
    started, count, position = time.perf_counter(), 0, 0
    while True:
        batch = app.recorder.select_notifications(start=position, limit=2000,
                                                  inclusive_of_start=False)
        if not batch:
            break
        for n in batch:
            app.mapper.to_domain_event(n)
        count += len(batch)
        position = batch[-1].id
    return count / (time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--interactions", type=int, default=20000)
    parser.add_argument("--store", default="postgres")
    args = parser.parse_args()
    with throwaway_store(args.store) as store:
        tmp = Path(tempfile.mkdtemp(prefix="ld-proj-"))
        app = Ledgerdesk(env=event_store_env(store))
        started = time.perf_counter()
        generate(app, args.customers, args.requests, args.interactions)
        events = app.recorder.max_notification_id() or 0
        print(f"generated {events} events in {time.perf_counter() - started:.0f}s")
        print(f"bare read+decode: {bare_read_rate(app):8.0f} events/s (reference)")
        settings = Settings(database=store, data_dir=tmp, blob_dir=tmp / "b", secret_key="k")
        models = open_read_models(settings, app)
        total = 0.0
        tracemalloc.start()
        for projector in models.projectors:
            started = time.perf_counter()
            projector.rebuild()
            took = time.perf_counter() - started
            total += took
            print(f"rebuild {projector.name:10} {events / took:8.0f} events/s")
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"all views: {events * len(models.projectors) / total:8.0f} event-applications/s, "
              f"peak traced memory {peak:.1f} MiB")

        token = app.issue_token("agent@bench", actor="bench")
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(app, models), host="127.0.0.1",
                                               port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        headers = {"Authorization": f"Bearer {token}"}
        paths = {
            "inbox": ["/api/v1/inbox", "/api/v1/inbox?queue=unassigned",
                      "/api/v1/inbox?queue=mine&limit=20", "/api/v1/inbox?channel=email",
                      "/api/v1/inbox?queue=sla_at_risk"],
            "360": [f"/api/v1/customers/C{c:05d}/360" for c in range(0, args.customers, 7)],
        }
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            for name, urls in paths.items():
                timings = []
                for i in range(400):
                    url = urls[i % len(urls)]
                    t = time.perf_counter()
                    assert client.get(url).status_code == 200
                    timings.append((time.perf_counter() - t) * 1000)
                print(f"GET {name:5}: p50 {statistics.median(timings):6.1f} ms, "
                      f"p99 {percentile(timings, 0.99):6.1f} ms (400 requests)")
        server.should_exit = True
        thread.join()
        models.close()
        app.close()


if __name__ == "__main__":
    main()
