"""The command line under the conditions a real desk has: a `serve` writing beside a
report, a store that is down, a reader that stops reading, a port already taken.
Whatever happens, one line on stderr and an exit status; never a traceback."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from domain.application import Ledgerdesk
from domain.requests.commands import OpenRequest
from ledgerdesk import demo
from ledgerdesk.config import Database, Settings
from ledgerdesk.persistence import event_store_env
from projections import storage
from projections.registry import VIEW_CLASSES, open_read_models, view_database_path
from tests.integration.test_cli import database_url, ledgerdesk, wait_for
from tests.support.mailservers import free_port

REPORT_RUNS = 30
REPORTS = (("projections", "status"), ("audit", "export"), ("audit", "verify"))


def cli_env(store: Database, tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, LEDGERDESK_DATABASE_URL=database_url(store),
                LEDGERDESK_DATA_DIR=str(tmp_path))


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status) == 200
    except OSError:
        return False


@pytest.fixture
def busy_server(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[None]:
    """`serve` on the demo store, projecting what a writer records without pause."""
    demo.load(app)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "ledgerdesk.cli", "serve", "--port", str(port)],
        env=cli_env(store, tmp_path), cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
    )
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            app.handle(OpenRequest("HUAXIN", "support", f"load {n}", actor="agent@desk.cn"))
            n += 1

    writer = threading.Thread(target=write, daemon=True)
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthz"), 60, "serve listening")
        writer.start()
        yield
    finally:
        stop.set()
        writer.join(timeout=30)
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_reports_beside_a_busy_server_always_succeed(
    store: Database, tmp_path: Path, busy_server: None
) -> None:
    """Before: 'database is locked' (a view's read-then-write transaction cannot wait
    for SQLite's lock), or a duplicate batch when `serve` projected the audit view
    first, each with a traceback, in about one run in six."""
    failures = []
    for run in range(REPORT_RUNS):
        done = ledgerdesk(store, tmp_path, *REPORTS[run % len(REPORTS)])
        if done.returncode != 0 or "Traceback" in done.stderr:
            failures.append((REPORTS[run % len(REPORTS)], done.returncode, done.stderr[-500:]))
    assert failures == []


def test_opening_the_read_models_takes_no_write_lock(
    store: Database, app: Ledgerdesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report opening the views while another process holds their write locks
    reads on: nothing in opening a view that exists writes to it."""
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    demo.load(app)
    open_read_models(settings, app).close()  # the views exist, as beside a running serve
    with holding_write_locks(store, tmp_path, monkeypatch):
        reader = Ledgerdesk(env=event_store_env(store))
        try:
            models = open_read_models(settings, reader)
            try:
                # Nothing was projected (no serve ran): every view reads as empty, behind.
                assert all(p.status().lag == p.status().head > 0 for p in models.projectors)
                assert models["audit"].query("SELECT COUNT(*) AS n FROM audit")[0]["n"] == 0
            finally:
                models.close()
        finally:
            reader.close()


class holding_write_locks:
    """Another process's write transactions on every view, held open.  SQLite: a
    BEGIN IMMEDIATE on each view file, and a one-second busy timeout here so a
    writer fails fast.  PostgreSQL: EXCLUSIVE locks (reads pass, writes wait) on
    the views' bookkeeping, and a lock timeout for every new session."""

    def __init__(self, store: Database, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.store, self.data_dir, self.monkeypatch = store, data_dir, monkeypatch
        self.connections: list[object] = []

    def __enter__(self) -> None:
        if self.store.kind == "sqlite":
            self.monkeypatch.setattr(storage, "SQLITE_LOCK_TIMEOUT", 1)
            for view in VIEW_CLASSES:
                lock = sqlite3.connect(view_database_path(self.data_dir, view.name),
                                       isolation_level=None)
                lock.execute("BEGIN IMMEDIATE")
                self.connections.append(lock)
            return
        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={self.store.name}"
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{self.store.name}" SET lock_timeout = \'1s\'')
        lock_holder = psycopg.connect(dsn)
        tables = ["view_versions", *(f"view_{view.name}_tracking" for view in VIEW_CLASSES)]
        lock_holder.execute(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE")
        for view in VIEW_CLASSES:
            lock_holder.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                                (f"ledgerdesk-view-{view.name}",))
        self.connections.append(lock_holder)

    def __exit__(self, *exc: object) -> None:
        for connection in self.connections:
            connection.close()  # type: ignore[attr-defined]


def test_unknown_read_model_is_one_line_naming_the_known_ones(
    store: Database, tmp_path: Path
) -> None:
    done = ledgerdesk(store, tmp_path, "projections", "rebuild", "nosuch")
    assert done.returncode == 2 and done.stdout == ""
    known = ", ".join(view.name for view in VIEW_CLASSES)
    assert done.stderr == f"ledgerdesk: no read model 'nosuch'; the read models are {known}\n"


def test_export_to_a_reader_that_stops_is_quiet(
    store: Database, app: Ledgerdesk, tmp_path: Path
) -> None:
    demo.load(app)
    command = [sys.executable, "-m", "ledgerdesk.cli", "audit", "export"]
    # The reader is gone before the first line is written.
    export = subprocess.Popen(command, env=cli_env(store, tmp_path), cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert export.stdout is not None and export.stderr is not None
    export.stdout.close()
    errors = export.stderr.read()
    assert export.wait(timeout=60) == 141  # as a Unix tool killed by SIGPIPE
    assert errors == ""
    # And as a user types it.
    shell = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m ledgerdesk.cli audit export | head -1"],
        env=cli_env(store, tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert shell.stderr == "" and shell.stdout.startswith('{"position": 1,')


def test_a_store_that_cannot_be_used_is_one_line(tmp_path: Path) -> None:
    unreachable = Database(kind="postgresql", host="127.0.0.1", port=free_port(),
                           user="postgres", name="nowhere")
    under_a_file = Database(kind="sqlite", path=Path("/etc/hostname/x.db"))
    a_folder = Database(kind="sqlite", path=tmp_path)
    for database in (unreachable, under_a_file, a_folder):
        for args in (("projections", "status"), ("audit", "export"), ("user", "list")):
            done = ledgerdesk(database, tmp_path, *args)
            assert done.returncode == 1, done.stderr
            assert done.stderr.startswith("ledgerdesk: ") and done.stderr.count("\n") == 1
    refused = ledgerdesk(unreachable, tmp_path, "user", "list")
    assert "Connection refused" in refused.stderr


def test_a_taken_port_is_one_line(store: Database, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for command in ("serve", "demo"):
            done = ledgerdesk(store, tmp_path, command, "--port", str(port))
            assert done.returncode == 1
            assert done.stderr == (f"ledgerdesk: cannot listen on 127.0.0.1:{port}: Address "
                                   "already in use; choose another port with --port "
                                   "(make run PORT=...)\n")


def test_opening_still_creates_what_a_view_lacks(
    store: Database, app: Ledgerdesk, tmp_path: Path
) -> None:
    """The read-only look at an existing view does not hide a missing index (one
    added to a view's schema since the last start, say): opening creates it."""
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    catalog = ("SELECT name FROM sqlite_master WHERE name = 'inbox_status'"
               if store.kind == "sqlite" else
               "SELECT relname AS name FROM pg_class WHERE relname = 'inbox_status'")
    models = open_read_models(settings, app)
    try:
        with models["inbox"].datastore.transaction(commit=True) as c:  # type: ignore[attr-defined]
            c.execute("DROP INDEX inbox_status")
        assert models["inbox"].query(catalog) == []
    finally:
        models.close()
    reopened = open_read_models(settings, app)
    try:
        assert reopened["inbox"].query(catalog) == [{"name": "inbox_status"}]
    finally:
        reopened.close()
