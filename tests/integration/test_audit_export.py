"""Audit export by actor and date (issue 10, item 7), over HTTP and the CLI, on
SQLite and PostgreSQL: "everything agent X did on 23 November" can be asked,
and an unknown customer or request is an error, not an empty export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import AddNote, Assign, OpenRequest
from domain.users.commands import AddUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.registry import ReadModels, open_read_models

LI, WANG, AUDITOR = "li@desk.cn", "wang@desk.cn", "audit@desk.cn"


@pytest.fixture
def trail(store: Database, app: Ledgerdesk, tmp_path: Path
          ) -> Iterator[tuple[TestClient, str, ReadModels]]:
    app.handle(AddUser(LI, ["agent"], actor="setup"))
    app.handle(AddUser(WANG, ["agent"], actor="setup"))
    app.handle(AddUser(AUDITOR, ["auditor"], actor="setup"))
    app.handle(RegisterCustomer("ACME", "Acme", actor=LI))
    app.handle(RegisterCustomer("BETA", "Beta", actor=WANG))
    acme = app.handle(OpenRequest("ACME", "support", "卡纸", actor=LI))
    beta = app.handle(OpenRequest("BETA", "support", "报错", actor=WANG))
    app.handle(AddNote(acme, "李的备注", actor=LI))
    app.handle(Assign(beta, LI, actor=WANG))
    app.handle(AddNote(beta, "李也处理了这个", actor=LI))
    token = app.handle(IssueToken(AUDITOR, actor="setup"))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b", secret_key="k")
    models = open_read_models(settings, app)
    for projector in models.projectors:
        projector.catch_up()
    with TestClient(create_app(app, models)) as client:
        yield client, token, models
    models.close()


def export(client: TestClient, token: str, limit: int = 2, **filters: str) -> list[dict[str, Any]]:
    """Every page of GET /audit with these filters, followed by cursor."""
    events: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = client.get("/api/v1/audit", params={**filters, "limit": str(limit),
                                                   "cursor": cursor},
                          headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200, page.text
        events += page.json()["events"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return events


def test_everything_one_agent_did_in_a_period(trail: tuple[TestClient, str, ReadModels]) -> None:
    client, token, _ = trail
    everything = export(client, token, limit=1000)
    by_li = export(client, token, actor="LI@desk.cn ")  # as people type it
    assert by_li == [e for e in everything if e["actor"] == LI]
    assert {e["type"] for e in by_li} >= {"Customer.Registered", "ServiceRequest.Opened",
                                         "ServiceRequest.NoteAdded"}
    # Combined with a customer: Li's work on Beta's request only.
    on_beta = export(client, token, actor=LI, customer="BETA")
    assert [e["type"] for e in on_beta] == ["ServiceRequest.NoteAdded"]
    # A period: from one of Li's events on, up to another, both included.
    first, last = by_li[1]["at"], by_li[-2]["at"]
    in_period = export(client, token, actor=LI, since=first, until=last)
    assert in_period == [e for e in by_li if first <= e["at"] <= last] and len(in_period) >= 2
    # Whole days, in the date form: today holds everything, yesterday nothing.
    today = datetime.now(UTC).date()
    assert export(client, token, actor=LI, since=today.isoformat(),
                  until=today.isoformat()) == by_li
    assert export(client, token, until=(today - timedelta(days=1)).isoformat()) == []
    # A zone is honoured: midnight in Beijing is 16:00 UTC the day before.
    beijing = f"{today.isoformat()}T23:59:59.999999+08:00"
    assert export(client, token, since=beijing) == [
        e for e in everything if e["at"] >= f"{today.isoformat()}T15:59:59.999999Z"]
    assert export(client, token, actor="nobody@desk.cn") == []  # a true empty answer


def test_unknown_subjects_and_bad_dates_are_errors(
    trail: tuple[TestClient, str, ReadModels]
) -> None:
    client, token, _ = trail
    headers = {"Authorization": f"Bearer {token}"}
    unknown = client.get("/api/v1/audit?customer=NOBODY&actor=li@desk.cn", headers=headers)
    assert unknown.status_code == 404 and "NOBODY" in unknown.json()["error"]["message"]
    assert client.get("/api/v1/audit?request=SR-999999", headers=headers).status_code == 404
    bad = client.get("/api/v1/audit?since=23.11.2026", headers=headers)
    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["since"]
    naive = client.get("/api/v1/audit?until=2026-11-23T09:00:00", headers=headers)
    assert naive.status_code == 400 and "time zone" in naive.json()["error"]["message"]


def run_cli(store: Database, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    url = (f"sqlite:///{store.path}" if store.kind == "sqlite"
           else f"postgresql://{store.user}@{store.host}:{store.port}/{store.name}")
    return subprocess.run(
        [sys.executable, "-m", "ledgerdesk.cli", *args], cwd=tmp_path, capture_output=True,
        text=True, timeout=60,
        env=dict(os.environ, LEDGERDESK_DATABASE_URL=url, LEDGERDESK_DATA_DIR=str(tmp_path)))


def test_the_cli_exports_by_actor_and_refuses_unknown_subjects(
    store: Database, trail: tuple[TestClient, str, ReadModels], tmp_path: Path
) -> None:
    client, token, _ = trail
    done = run_cli(store, tmp_path, "audit", "export", "--actor", WANG,
                   "--since", datetime.now(UTC).date().isoformat())
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["position"] for e in lines] == [e["position"] for e in export(client, token,
                                                                             actor=WANG)]
    assert lines and all(e["actor"] == WANG for e in lines)
    unknown = run_cli(store, tmp_path, "audit", "export", "--customer", "NOBODY")
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr.strip() == "ledgerdesk: nothing recorded for customer NOBODY"
    bad = run_cli(store, tmp_path, "audit", "export", "--until", "yesterday")
    assert bad.returncode == 2 and bad.stderr.startswith("ledgerdesk: until is a date")
