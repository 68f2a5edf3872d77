"""The access log (issue 10, item 6), on SQLite and PostgreSQL: staff reads of a
customer's data and every export leave a row (who, what, when, which surface)
in a hash-chained, append-only table that auditors query, export and verify."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import OpenRequest
from domain.users.commands import AddUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from ledgerdesk.persistence import event_store_env
from projections.access_log import AccessFilter, AccessLog, open_access_log
from projections.registry import open_read_models

AGENT, AUDITOR, CUSTOMER = "agent@desk.cn", "audit@desk.cn", "li@acme.cn"


@pytest.fixture
def desk(store: Database, app: Ledgerdesk, tmp_path: Path
         ) -> Iterator[tuple[TestClient, dict[str, str], AccessLog, str]]:
    app.handle(AddUser(AGENT, ["agent"], actor="setup"))
    app.handle(AddUser(AUDITOR, ["auditor"], actor="setup"))
    app.handle(RegisterCustomer("ACME", "艾克美科技", actor=AGENT))
    # A customer_admin: sees the organisation's requests, not only their own.
    app.handle(AddUser(CUSTOMER, ["customer_admin"], actor="setup", customer_code="ACME"))
    reference = app.handle(OpenRequest("ACME", "repair", "打印机卡纸", actor=AGENT))
    tokens = {who: app.handle(IssueToken(who, actor="setup")) for who in (AGENT, AUDITOR, CUSTOMER)}
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b", secret_key="k")
    models = open_read_models(settings, app)
    for projector in models.projectors:
        projector.catch_up()
    log = open_access_log(tmp_path, models.datastore)
    with TestClient(create_app(app, models, access_log=log)) as client:
        yield client, tokens, log, reference
    log.close()
    models.close()


def get(client: TestClient, token: str, path: str) -> Any:
    return client.get("/api/v1" + path, headers={"Authorization": f"Bearer {token}"})


def test_staff_reads_and_exports_are_logged_and_customers_own_reads_are_not(
    desk: tuple[TestClient, dict[str, str], AccessLog, str]
) -> None:
    client, tokens, log, reference = desk
    assert get(client, tokens[AGENT], "/customers/ACME/360").status_code == 200
    assert get(client, tokens[AGENT], f"/service-requests/{reference}").status_code == 200
    assert get(client, tokens[CUSTOMER], f"/service-requests/{reference}").status_code == 200
    assert get(client, tokens[AUDITOR], "/audit?customer=ACME").status_code == 200
    assert get(client, tokens[AGENT], "/customers/NOBODY/360").status_code == 404

    entries = log.entries(AccessFilter())
    assert [(e["actor"], e["surface"], e["kind"], e["subject"]) for e in entries] == [
        (AGENT, "api", "customer_360", "ACME"),
        (AGENT, "api", "service_request", reference),
        (AUDITOR, "api", "audit_export", "ACME"),
    ]
    assert entries[2]["detail"] == {"customer": "ACME"}
    # Codes and references only: nothing of the customer's own data.
    assert "艾克美" not in json.dumps(entries, ensure_ascii=False)

    # Auditors read it over the API, filtered; reading it is itself logged.
    page = get(client, tokens[AUDITOR], f"/audit/access?actor={AGENT}&customer=ACME")
    assert page.status_code == 200
    assert [e["kind"] for e in page.json()["entries"]] == ["customer_360"]
    assert log.entries(AccessFilter())[-1]["kind"] == "access_export"
    assert get(client, tokens[AGENT], "/audit/access").status_code == 403
    assert get(client, tokens[CUSTOMER], "/audit/access").status_code == 403
    verified = get(client, tokens[AUDITOR], "/audit/access/verify").json()
    assert verified == {"intact": True, "checked": 4, "first_broken": None}


def tamper(store: Database, tmp_path: Path, sql: str) -> None:
    if store.kind == "sqlite":
        with sqlite3.connect(tmp_path / "access_log.db") as conn:
            conn.execute(sql)
    else:
        with psycopg.connect(host=store.host, port=store.port, user=store.user,
                             dbname=store.name, autocommit=True) as conn:
            conn.execute(sql.encode())


@pytest.mark.parametrize("how", ["edit", "delete"])
def test_a_changed_or_removed_row_breaks_the_chain_there(
    store: Database, tmp_path: Path, desk: tuple[TestClient, dict[str, str], AccessLog, str],
    how: str
) -> None:
    client, tokens, log, _ = desk
    for _ in range(4):
        get(client, tokens[AGENT], "/customers/ACME/360")
    assert log.verify().intact
    if how == "edit":
        tamper(store, tmp_path, "UPDATE access_log SET actor = 'someone@else.cn' WHERE seq = 2")
    else:
        tamper(store, tmp_path, "DELETE FROM access_log WHERE seq = 3")
    broken = get(client, tokens[AUDITOR], "/audit/access/verify").json()
    assert broken["intact"] is False
    assert broken["first_broken"] == (2 if how == "edit" else 3)


def test_concurrent_appends_from_two_processes_keep_one_chain(
    desk: tuple[TestClient, dict[str, str], AccessLog, str], store: Database, tmp_path: Path
) -> None:
    _, _, log, _ = desk
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b", secret_key="k")
    other_app = Ledgerdesk(env=event_store_env(store))
    other_models = open_read_models(settings, other_app)
    other = open_access_log(tmp_path, other_models.datastore)  # as a second `serve` opens it
    try:
        def append(into: AccessLog, who: str) -> None:
            for i in range(25):
                into.record(who, "api", "customer_360", f"C{i}")

        threads = [threading.Thread(target=append, args=(into, f"agent{n}@desk.cn"))
                   for n, into in enumerate([log, log, other, other])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        entries = log.entries(AccessFilter(), limit=1000)
        assert [e["seq"] for e in entries] == list(range(1, 101))
        assert log.verify().intact and other.verify().checked == 100
    finally:
        other.close()
        other_models.close()
        other_app.close()


def test_the_cli_logs_its_exports_and_reads_the_log(
    store: Database, tmp_path: Path, desk: tuple[TestClient, dict[str, str], AccessLog, str]
) -> None:
    client, tokens, log, _ = desk
    get(client, tokens[AGENT], "/customers/ACME/360")
    url = (f"sqlite:///{store.path}" if store.kind == "sqlite"
           else f"postgresql://{store.user}@{store.host}:{store.port}/{store.name}")
    env = dict(os.environ, LEDGERDESK_DATABASE_URL=url, LEDGERDESK_DATA_DIR=str(tmp_path))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ledgerdesk.cli", *args], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert cli("audit", "export", "--customer", "ACME").returncode == 0
    done = cli("audit", "access", "--customer", "ACME")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    # Its own read is recorded before it lists, so it shows at the end.
    assert [(r["kind"], r["surface"]) for r in rows] == [
        ("customer_360", "api"), ("audit_export", "cli"), ("access_export", "cli")]
    assert rows[1]["actor"].startswith("cli:")
    assert log.entries(AccessFilter())[-1]["kind"] == "access_export"
    verified = cli("audit", "access-verify")
    assert verified.returncode == 0 and verified.stdout.startswith("intact: 3 ")
