"""Projection benchmark, at the size of a busy desk.

1. Writes an event log through the application (bench/corpus.py: domain
   aggregates, many per save) in two halves, and after each half rebuilds every
   view in a fresh child process, timing each one and reading the child's peak
   resident memory: the two sizes show whether memory grows with the log.
   The reference figure is the bare read rate of the same log
   (select_notifications + decoding, no view writes).
2. Serves the API with the projection runner, as `ledgerdesk serve` does, while
   writer processes record `--rate` inbound messages a second through
   `record_inbound`, and reports the lag from each message's commit to the
   moment each view committed it (p50/p99).
3. Measures GET /inbox (several queues and filters) and GET
   /customers/{code}/360 over real HTTP (uvicorn on loopback), p50/p99.

`--encryption`: instead of all the above, writes the same corpus once with
Ledgerdesk (personal fields sealed) and once with `PlainLedgerdesk` (the
library's plain mapper, bench/plain.py) and rebuilds every view of each: what
encryption costs a rebuild, per view, same run, same store kind.

Usage: python bench/projections.py [--customers 20000] [--requests 100000]
           [--rate 200] [--writers 2] [--lag-seconds 30] [--store postgres] [--encryption]
Internal modes (run by the above): --rebuild-child URL DIR [plain], --writer URL ...
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import uvicorn

from bench.common import peak_rss_mib, rss_mib, throwaway_store, url_of
from bench.corpus import AGENTS, customer_code, generate
from bench.plain import PlainLedgerdesk
from domain.application import Ledgerdesk
from domain.knowledge.commands import PublishArticle
from domain.requests.commands import InboundMessage, RecordInbound
from domain.users.commands import AddUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from ledgerdesk.persistence import event_store_env
from projections.registry import ReadModels, open_read_models
from projections.runner import ProjectionThread, rebuild_together, wait_until_caught_up

HERE = Path(__file__).resolve()


def settings_for(url: str, data_dir: Path) -> Settings:
    return Settings(database=Database.from_url(url), data_dir=data_dir,
                    blob_dir=data_dir / "blobs", secret_key="bench")


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


# --- 1. rebuild, in a child process so its peak memory is its own ------------

def rebuild_child(url: str, data_dir: Path, plain: bool = False) -> None:
    app_class = PlainLedgerdesk if plain else Ledgerdesk
    app = app_class(env=event_store_env(Database.from_url(url)))
    models = open_read_models(settings_for(url, data_dir), app)
    events = app.recorder.max_notification_id() or 0
    result: dict[str, Any] = {"events": events, "rss_before_mib": rss_mib(), "rates": {}}
    for projector in models.projectors:
        started = time.perf_counter()
        projector.rebuild()
        result["rates"][projector.name] = events / (time.perf_counter() - started)
    # All views in step, each batch decoded once for all (`projections rebuild`).
    started = time.perf_counter()
    rebuild_together(models.projectors)
    result["rates"]["all, in step"] = events / (time.perf_counter() - started)
    result["peak_rss_mib"] = peak_rss_mib()
    models.close()
    app.close()
    print(json.dumps(result))


def rebuild_in_child(url: str, data_dir: Path, plain: bool = False) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(HERE), "--rebuild-child", url, str(data_dir),
                          *(["plain"] if plain else [])],
                         check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def report_rebuild(result: dict[str, Any], bare: float) -> None:
    print(f"  log: {result['events']:,} events; bare read+decode {bare:,.0f} events/s "
          "(reference)")
    for name, rate in result["rates"].items():
        print(f"  rebuild {name:10} {rate:9,.0f} events/s  ({rate / bare:.2f} of bare read)")
    print(f"  child process memory: {result['rss_before_mib']:.0f} MiB before the rebuilds, "
          f"peak {result['peak_rss_mib']:.0f} MiB")


# --- 2. live lag -----------------------------------------------------------------

def writer_child(url: str, rate: float, seconds: float, seed: int, references: list[str]) -> None:
    """Records `rate` messages a second on existing requests; prints, for each,
    the wall-clock time of its commit and the log position it reached."""
    app = Ledgerdesk(env=event_store_env(Database.from_url(url)))
    senders = {}
    for reference in references:
        code = app.service_request(reference).customer_code
        senders[reference] = f"c{int(code[1:])}@bench.cn"
    rng = random.Random(seed)
    written: list[tuple[float, int]] = []
    started = time.time()
    for i in range(int(rate * seconds)):
        delay = started + i / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        reference = rng.choice(references)
        app.handle(RecordInbound(InboundMessage(
            channel="email", external_id=f"<live{seed}.{i}@bench.cn>",
            sender=senders[reference], subject="Re: 进展如何", body=f"请问进展如何？({i})",
            reference=reference,
        )))
        committed_at = time.time()
        written.append((committed_at, app.recorder.max_notification_id() or 0))
    app.close()
    print(json.dumps({"written": written, "took": time.time() - started}))


def watch_commits(models: ReadModels) -> dict[str, list[tuple[float, int]]]:
    """Wraps each view's storage so every committed batch is noted with its
    wall-clock time and last position."""
    commits: dict[str, list[tuple[float, int]]] = {}
    for name, storage in models.storages.items():
        log = commits.setdefault(name, [])
        real_write = storage.write

        def write(application_name: str, batch: Any, real_write: Any = real_write,
                  log: list[tuple[float, int]] = log) -> None:
            real_write(application_name, batch)
            if batch:
                log.append((time.time(), batch[-1][1].id))

        storage.write = write  # type: ignore[method-assign]
    return commits


def lags(written: list[tuple[float, int]], commits: list[tuple[float, int]]) -> list[float]:
    """For each write, seconds until the first commit at or past its position."""
    result, j = [], 0
    for at, position in sorted(written, key=lambda w: w[1]):
        while j < len(commits) and commits[j][1] < position:
            j += 1
        if j < len(commits):
            result.append(max(commits[j][0] - at, 0.0))
    return result


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_latency(port: int, token: str, customers: int) -> None:
    paths = {
        "/inbox": ["/api/v1/inbox", "/api/v1/inbox?queue=unassigned",
                   "/api/v1/inbox?queue=mine&limit=20", "/api/v1/inbox?channel=email",
                   "/api/v1/inbox?queue=sla_at_risk", "/api/v1/inbox?queue=escalated",
                   "/api/v1/inbox?queue=pending_customer", "/api/v1/inbox?status=resolved"],
        "/customers/{code}/360": [f"/api/v1/customers/{customer_code(c)}/360"
                                  for c in range(0, customers, 37)],
    }
    with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                      headers={"Authorization": f"Bearer {token}"}) as client:
        for name, urls in paths.items():
            for url in urls[:3]:  # warm the connection and the caches once
                client.get(url)
            timings = []
            for i in range(1000):
                url = urls[i % len(urls)]
                t = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, (url, response.text)
            print(f"  GET {name:22} p50 {statistics.median(timings):5.1f} ms, "
                  f"p99 {percentile(timings, 0.99):5.1f} ms (1,000 requests)")
        # Walking the inbox with the cursor reaches deep pages at the same cost.
        timings, cursor = [], None
        for _ in range(50):
            t = time.perf_counter()
            page = client.get("/api/v1/inbox", params={"limit": 50, **(
                {"cursor": cursor} if cursor else {})}).json()
            timings.append((time.perf_counter() - t) * 1000)
            cursor = page.get("next_cursor")
            if not cursor:
                break
        print(f"  GET /inbox, 50 pages by cursor: p50 {statistics.median(timings):5.1f} ms, "
              f"max {max(timings):5.1f} ms")


def live(url: str, data_dir: Path, app: Ledgerdesk, args: argparse.Namespace) -> None:
    models = open_read_models(settings_for(url, data_dir), app)
    commits = watch_commits(models)
    runner = ProjectionThread(models.projectors)
    runner.start()
    wait_until_caught_up(models.projectors, timeout=600)
    token = app.handle(IssueToken(AGENTS[0], actor="bench"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(app, models), host="127.0.0.1",
                                           port=port, log_level="warning"))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    while not server.started:
        time.sleep(0.05)

    rng = random.Random(5)
    references = [f"SR-{rng.randrange(1, args.requests + 1):06d}" for _ in range(400)]
    per_writer = args.rate / args.writers
    print(f"live: {args.writers} writer processes x {per_writer:.0f} messages/s for "
          f"{args.lag_seconds}s, API and projection runner serving in this process")
    writers = [
        subprocess.Popen([sys.executable, str(HERE), "--writer", url, str(per_writer),
                          str(args.lag_seconds), str(seed), ",".join(references)],
                         stdout=subprocess.PIPE, text=True)
        for seed in range(args.writers)
    ]
    written: list[tuple[float, int]] = []
    took = 0.0
    for writer in writers:
        out, _ = writer.communicate()
        result = json.loads(out.strip().splitlines()[-1])
        written += [tuple(w) for w in result["written"]]
        took = max(took, result["took"])
    wait_until_caught_up(models.projectors, timeout=120)
    print(f"  wrote {len(written):,} messages in {took:.1f}s "
          f"({len(written) / took:.0f}/s achieved)")
    all_views: list[float] = []
    per_view = {name: lags(written, log) for name, log in commits.items()}
    for i in range(len(written)):
        all_views.append(max(values[i] for values in per_view.values()))
    for name, values in per_view.items():
        print(f"  lag {name:10} p50 {percentile(values, 0.5) * 1000:6.0f} ms, "
              f"p99 {percentile(values, 0.99) * 1000:6.0f} ms")
    print(f"  lag, every view: p50 {percentile(all_views, 0.5) * 1000:6.0f} ms, "
          f"p99 {percentile(all_views, 0.99) * 1000:6.0f} ms")

    print("read API, idle, over HTTP:")
    http_latency(port, token, args.customers)
    server.should_exit = True
    serving.join()
    runner.stop()
    models.close()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--rebuild-child":
        rebuild_child(sys.argv[2], Path(sys.argv[3]), plain=sys.argv[4:5] == ["plain"])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        url, rate, seconds, seed, refs = sys.argv[2:7]
        writer_child(url, float(rate), float(seconds), int(seed), refs.split(","))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--lag-seconds", type=float, default=30)
    parser.add_argument("--store", default="postgres")
    parser.add_argument("--encryption", action="store_true",
                        help="only compare rebuilds with and without sealing")
    args = parser.parse_args()
    if args.encryption:
        encryption_cost(args)
        return
    with throwaway_store(args.store) as store:
        url = url_of(store)
        data_dir = Path(tempfile.mkdtemp(prefix="ld-proj-"))
        app = Ledgerdesk(env=event_store_env(store))
        for agent in AGENTS:
            app.handle(AddUser(agent, ["agent"], actor="bench"))
        for n in range(200):
            app.handle(PublishArticle(f"KB-{n + 1:04d}", f"故障排除 {n}：打印机卡纸",
                                f"第 {n} 篇。关闭电源，打开后盖，取出卡住的纸张。Paper jam fix.",
                                kind="faq", actor=AGENTS[0]))
        half = args.requests // 2
        for part, (start, count) in enumerate([(0, half), (half, args.requests - half)]):
            started = time.perf_counter()
            generate(app, args.customers, count, start=start)
            events = app.recorder.max_notification_id() or 0
            print(f"size {part + 1}: {events:,} events ({args.customers:,} customers, "
                  f"{start + count:,} requests), written in "
                  f"{time.perf_counter() - started:.0f}s")
            report_rebuild(rebuild_in_child(url, data_dir), bare_read_rate(app))
        live(url, data_dir, app, args)
        app.close()


def encryption_cost(args: argparse.Namespace) -> None:
    rates: dict[str, dict[str, float]] = {}
    for label, app_class in (("sealed", Ledgerdesk), ("plain", PlainLedgerdesk)):
        with throwaway_store(args.store) as store:
            url = url_of(store)
            app = app_class(env=event_store_env(store))
            generate(app, args.customers, args.requests)
            bare = bare_read_rate(app)
            app.close()
            result = rebuild_in_child(url, Path(tempfile.mkdtemp(prefix="ld-proj-")),
                                      plain=label == "plain")
            print(f"{label}: {result['events']:,} events; read+decode {bare:,.0f} events/s")
            rates[label] = {**result["rates"], "read+decode": bare}
    for name, sealed in rates["sealed"].items():
        plain = rates["plain"][name]
        print(f"  {name:12} sealed {sealed:9,.0f}/s  plain {plain:9,.0f}/s  "
              f"encryption costs {(1 - sealed / plain) * 100:4.0f} %")


if __name__ == "__main__":
    main()
