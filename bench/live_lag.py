"""Live lag and idle cost of the projection runner, woken vs polling, same run.

For each mode, on a fresh store: writer processes record `--rate` inbound
messages a second (bench/projections.py --writer) while this process runs the
projection runner over every view and one open live feed (what a browser's
SSE stream waits on); reported is the lag from each message's commit to the
moment every view committed it (p50/p99), then this process's CPU while idle
for `--idle-seconds` (the runner and the feed waiting, nothing written).

Modes: `poll` is the reference (the runner and the feed poll every 0.1 s, as
`serve` did); `notify` is what `serve` does now (ledgerdesk.wakeup: LISTEN/NOTIFY
on PostgreSQL, the files watched on SQLite, saves in this process).

Usage: python bench/live_lag.py [--rate 200] [--writers 2] [--seconds 20]
           [--idle-seconds 30] [--stores postgres,sqlite] [--modes poll,notify]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import throwaway_store, url_of
from bench.projections import lags, percentile, settings_for, watch_commits
from channels.web.live import LiveFeed
from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import OpenRequest
from ledgerdesk.persistence import event_store_env
from projections.registry import open_read_models
from projections.runner import ProjectionThread, wait_until_caught_up

try:
    from ledgerdesk.wakeup import Doorbells
    from projections.runner import Wakeup
except ImportError:  # an older tree: the polling reference only
    Doorbells = Wakeup = None  # type: ignore[assignment,misc]

PROJECTIONS = Path(__file__).resolve().parent / "projections.py"


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def open_feed(feed: LiveFeed) -> Callable[[], None]:
    """One open live stream, in an event loop of its own, as a browser holds one;
    returns what closes it."""
    loop = asyncio.new_event_loop()

    async def listen() -> None:
        async def never() -> bool:
            return False

        async for _ in feed.changes(never):
            pass

    task = loop.create_task(listen())

    def serve() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def close() -> None:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=10)

    return close


def run(kind: str, mode: str, args: argparse.Namespace) -> None:
    with throwaway_store(kind) as store:
        url = url_of(store)
        data_dir = Path(tempfile.mkdtemp(prefix="ld-live-"))
        app = Ledgerdesk(env=event_store_env(store))
        for n in range(100):
            app.handle(RegisterCustomer(f"C{n:05d}", f"客户 {n}", actor="bench",
                                        identities=[("email", f"c{n}@bench.cn")]))
        references = [app.handle(OpenRequest(f"C{n % 100:05d}", "support", f"故障 {n}",
                                             actor="bench", channel="email"))
                      for n in range(400)]
        models = open_read_models(settings_for(url, data_dir), app)
        doorbells = None
        if mode == "notify":
            wakeup = Wakeup()
            doorbells = Doorbells(wakeup, app, store)
            runner = ProjectionThread(models.projectors, wakeup=wakeup)
            moved = runner.moved
        else:
            runner = ProjectionThread(models.projectors, interval=0.1)
            moved = None
        runner.start()
        wait_until_caught_up(models.projectors, timeout=600)
        feed = (LiveFeed(lambda: tuple(p.position() for p in models.projectors), moved=moved)
                if moved is not None else
                LiveFeed(lambda: tuple(p.position() for p in models.projectors)))
        close_feed = open_feed(feed)
        commits = watch_commits(models)
        per_writer = args.rate / args.writers
        writers = [
            subprocess.Popen([sys.executable, str(PROJECTIONS), "--writer", url, str(per_writer),
                              str(args.seconds), str(seed), ",".join(references)],
                             stdout=subprocess.PIPE, text=True)
            for seed in range(args.writers)
        ]
        written: list[tuple[float, int]] = []
        took = 0.0
        for writer in writers:
            out, _ = writer.communicate()
            result = json.loads(out.strip().splitlines()[-1])
            written += [(float(at), int(position)) for at, position in result["written"]]
            took = max(took, result["took"])
        wait_until_caught_up(models.projectors, timeout=120)
        per_view = {name: lags(written, log) for name, log in commits.items()}
        every = [max(values[i] for values in per_view.values()) for i in range(len(written))]
        label = f"[{kind}, {mode}]"
        print(f"{label} {len(written):,} messages in {took:.1f}s "
              f"({len(written) / took:.0f}/s achieved), {len(per_view)} views: lag p50 "
              f"{percentile(every, 0.5) * 1000:5.0f} ms, p99 {percentile(every, 0.99) * 1000:5.0f} "
              f"ms (every view)")
        time.sleep(1)
        started, cpu = time.perf_counter(), cpu_seconds()
        time.sleep(args.idle_seconds)
        used = cpu_seconds() - cpu
        print(f"{label} idle: {used:.2f} CPU-s in {time.perf_counter() - started:.0f}s "
              f"({used / args.idle_seconds * 100:.1f} % of a core), runner + one live feed")
        close_feed()
        runner.stop()
        if doorbells is not None:
            doorbells.close()
        models.close()
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--stores", default="postgres,sqlite")
    parser.add_argument("--modes", default="poll,notify")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m != "notify" or Doorbells is not None]
    for kind in args.stores.split(","):
        for mode in modes:
            run(kind, mode, args)


if __name__ == "__main__":
    main()
