"""The projection runner and the live pages wake when the log moves, on both
stores: a message recorded by another process reaches a view with no polling
(the runner's safety look is set an hour away, and the feed's poll too)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.web.live import LiveFeed
from domain.application import Ledgerdesk
from ledgerdesk.config import Database, Settings
from ledgerdesk.wakeup import Doorbells
from projections.registry import ReadModels, open_read_models
from projections.runner import ProjectionThread, Wakeup

NEVER = 3600.0  # seconds: no look nor poll happens within a test

WRITER = """
import sys
from domain.application import Ledgerdesk
from domain.requests.commands import InboundMessage, RecordInbound
from ledgerdesk.config import Database
from ledgerdesk.persistence import event_store_env
app = Ledgerdesk(env=event_store_env(Database.from_url(sys.argv[1])))
recorded = app.handle(RecordInbound(InboundMessage(
    channel="email", external_id=sys.argv[2], sender="wang@elsewhere.cn",
    subject="from another process", body="你好")))
print(recorded.reference)
app.close()
"""


def url_of(database: Database) -> str:
    if database.kind == "sqlite":
        return f"sqlite:///{database.path}"
    return f"postgresql://{database.user}@{database.host}:{database.port}/{database.name}"


def write_elsewhere(store: Database, message_id: str) -> str:
    """Record a message in a separate process; its reference."""
    done = subprocess.run([sys.executable, "-c", WRITER, url_of(store), message_id],
                          capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def views(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[ReadModels]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs",
                        secret_key="k")
    models = open_read_models(settings, app)
    yield models
    models.close()


@pytest.fixture
def runner(store: Database, app: Ledgerdesk, views: ReadModels) -> Iterator[ProjectionThread]:
    wakeup = Wakeup()
    doorbells = Doorbells(wakeup, app, store)
    thread = ProjectionThread(views.projectors, interval=NEVER, wakeup=wakeup, safety=NEVER)
    thread.start()
    yield thread
    thread.stop()
    doorbells.close()


def inbox_has(views: ReadModels, reference: str) -> bool:
    return bool(views["inbox"].query("SELECT reference FROM inbox WHERE reference = ?",
                                     (reference,)))


def wait_for_row(runner: ProjectionThread, views: ReadModels, reference: str) -> None:
    """Until the inbox shows the request; each wait ends when the runner says its
    views moved (the bound only keeps a broken wake-up from hanging the suite)."""
    seen = runner.moved.generation
    for _ in range(50):
        if inbox_has(views, reference):
            return
        seen = runner.moved.wait(seen, timeout=2.0)
    assert inbox_has(views, reference), "the view never woke for the other process's write"


def test_a_write_in_another_process_wakes_the_runner(
    store: Database, runner: ProjectionThread, views: ReadModels
) -> None:
    for n in range(3):
        reference = write_elsewhere(store, f"<elsewhere-{n}@elsewhere.cn>")
        wait_for_row(runner, views, reference)


def test_a_write_in_another_process_wakes_a_live_page(
    store: Database, runner: ProjectionThread, views: ReadModels
) -> None:
    feed = LiveFeed(lambda: (views.projector("inbox").position(),), interval=NEVER,
                    moved=runner.moved)

    async def first_change() -> tuple[int, str]:
        async def never_stop() -> bool:
            return False

        changes = feed.changes(never_stop)
        waiting = asyncio.ensure_future(anext(changes))
        await asyncio.sleep(0.2)  # let the watcher read the positions it starts from
        reference = await asyncio.to_thread(write_elsewhere, store, "<live@elsewhere.cn>")
        generation = await asyncio.wait_for(waiting, 120)
        await changes.aclose()
        return generation, reference

    generation, reference = asyncio.run(first_change())
    assert generation > 0
    assert inbox_has(views, reference)
