"""Routing of new requests (issue 15, item 3) on SQLite and PostgreSQL: the
dedicated representative first, otherwise the type's team in turn, the turn kept
in the event store so that two processes share it; switched off, nothing moves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.aggregates.routing import RequestRouting, RoutingCursor, cursor_id, routing_id
from domain.application import Ledgerdesk
from domain.customers.commands import AssignRepresentative, RegisterCustomer
from domain.requests.commands import OpenRequest
from domain.routing.settings import RoutingSettings
from domain.teams.commands import AddTeamMember, CreateTeam
from domain.users.commands import AddUser, DeactivateUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from ledgerdesk.persistence import event_store_env
from projections.registry import open_read_models

A, B, C, REP, ADMIN = "a@desk.cn", "b@desk.cn", "c@desk.cn", "rep@desk.cn", "root@desk.cn"
ROUTING = RoutingSettings(enabled=True, teams={"support": "hotline", "complaint": "complaints"})


@pytest.fixture
def desk(app: Ledgerdesk) -> Ledgerdesk:
    for email, roles in ((A, ["agent"]), (B, ["agent"]), (C, ["agent"]), (REP, ["agent"]),
                         (ADMIN, ["admin"])):
        app.handle(AddUser(email, roles, actor="setup"))
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    app.handle(RegisterCustomer("VIP", "贵宾", actor="setup", classification="key_account"))
    app.handle(AssignRepresentative("VIP", REP, actor="setup"))
    app.handle(CreateTeam("hotline", "热线", actor=ADMIN))
    for member in (A, B, C):
        app.handle(AddTeamMember("hotline", member, actor=ADMIN))
    app.handle(DeactivateUser(C, actor=ADMIN))  # away: takes nothing new
    app.handle(CreateTeam("complaints", "投诉", actor=ADMIN))
    app.store.routing = ROUTING
    return app


@pytest.fixture
def api(desk: Ledgerdesk, store: Database, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, desk)
    token = desk.handle(IssueToken(ADMIN, actor="setup"))
    with TestClient(create_app(desk, models),
                    headers={"Authorization": f"Bearer {token}"}) as client:
        yield client
    models.close()


def open_over_api(api: TestClient, customer: str = "ACME", kind: str = "support") -> str:
    answer = api.post("/api/v1/service-requests",
                      json={"customer_code": customer, "type": kind, "subject": "打印机卡纸"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["reference"])


def routed(app: Ledgerdesk, reference: str) -> Any:
    return app.store.get(RequestRouting, routing_id(reference))


def test_requests_go_round_the_team_in_turn(api: TestClient, desk: Ledgerdesk) -> None:
    first, second, third = (open_over_api(api) for _ in range(3))
    assignees = [desk.service_request(r).assignee for r in (first, second, third)]
    assert assignees == [A, B, A]  # C is deactivated, so skipped
    request = desk.service_request(first)
    assert (request.team, request.status) == ("hotline", "open")
    record = routed(desk, first)
    assert (record.assignee, record.team, record.rule) == (A, "hotline", "round_robin")
    # The assignment is an ordinary event, made by "routing".
    events = desk.store.events(request.id)
    assigned = [e for e in events if type(e).__name__ == "Assigned"]
    assert [(e.assignee, e.actor) for e in assigned] == [(A, "routing")]
    cursor = desk.store.get(RoutingCursor, cursor_id("hotline"))
    assert cursor is not None and (cursor.last, cursor.turns) == (A, 3)


def test_the_dedicated_representative_comes_first(api: TestClient, desk: Ledgerdesk) -> None:
    reference = open_over_api(api, "VIP")
    request = desk.service_request(reference)
    assert (request.assignee, request.team) == (REP, "hotline")
    assert routed(desk, reference).rule == "representative"
    # The representative's request did not take the team's turn.
    assert desk.service_request(open_over_api(api)).assignee == A
    # An inactive representative: the team's turn again.
    desk.handle(DeactivateUser(REP, actor=ADMIN))
    reference = open_over_api(api, "VIP")
    assert desk.service_request(reference).assignee == B
    assert routed(desk, reference).rule == "round_robin"


def test_a_team_without_anyone_available_keeps_the_request_in_its_queue(
    api: TestClient, desk: Ledgerdesk
) -> None:
    reference = open_over_api(api, kind="complaint")
    request = desk.service_request(reference)
    assert (request.team, request.assignee, request.status) == ("complaints", None, "new")
    assert routed(desk, reference).rule == "unassigned"
    # A type no team takes, for a customer without a representative: untouched.
    reference = open_over_api(api, kind="inquiry")
    request = desk.service_request(reference)
    assert (request.team, request.assignee) == (None, None)
    assert routed(desk, reference) is None


def test_routing_switched_off_leaves_new_requests_unassigned(api: TestClient,
                                                            desk: Ledgerdesk) -> None:
    desk.store.routing = RoutingSettings(enabled=False, teams=ROUTING.teams)
    for customer in ("ACME", "VIP"):
        request = desk.service_request(open_over_api(api, customer))
        assert (request.team, request.assignee) == (None, None)
    assert desk.store.get(RoutingCursor, cursor_id("hotline")) is None


def test_two_processes_share_the_turn(desk: Ledgerdesk, store: Database) -> None:
    other = Ledgerdesk(env=event_store_env(store), routing=ROUTING)
    try:
        references = []
        for process in (desk, other, desk, other):
            references.append(process.handle(OpenRequest("ACME", "support", "卡纸", actor=ADMIN)))
        assert [desk.service_request(r).assignee for r in references] == [A, B, A, B]
    finally:
        other.close()
