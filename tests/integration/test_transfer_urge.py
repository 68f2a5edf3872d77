"""Teams, transfer (业务移交), bulk hand-over and urging (催办), issue 15 items 3
and 5, through the API on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.errors import AlreadyExists, InvalidInput
from domain.requests.commands import Assign, OpenRequest
from domain.teams.commands import AddTeamMember, CreateTeam, RemoveTeamMember
from domain.teams.handlers import all_teams, load_team
from domain.users.commands import AddUser
from ledgerdesk.config import Database
from tests.support.desks import PASSWORD, WebDesk, csrf_of, desk_settings

A, B, MANAGER, ADMIN = "a@desk.cn", "b@desk.cn", "boss@desk.cn", "root@desk.cn"


class Desk(WebDesk):
    def __init__(self, app: Ledgerdesk, store: Database, tmp_path: Path) -> None:
        super().__init__(app, desk_settings(store, tmp_path))

    def open(self, subject: str = "打印机卡纸") -> str:
        return str(self.app.handle(OpenRequest("ACME", "support", subject, actor=A)))


@pytest.fixture
def desk(app: Ledgerdesk, store: Database, tmp_path: Path) -> Iterator[Desk]:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    for email, roles in ((A, ["agent"]), (B, ["agent"]), (MANAGER, ["manager"]),
                         (ADMIN, ["admin"])):
        app.handle(AddUser(email, roles, actor="setup", password=PASSWORD))
    app.handle(CreateTeam("hotline", "热线", actor=ADMIN))
    app.handle(AddTeamMember("hotline", B, actor=ADMIN))
    d = Desk(app, store, tmp_path)
    yield d
    d.models.close()


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1{path}", json=body)


def test_teams_have_members_and_unique_codes(desk: Desk) -> None:
    app = desk.app
    assert [t.code for t in all_teams(app.store)] == ["hotline"]
    assert load_team(app.store, "HOTLINE").members == [B]
    with pytest.raises(AlreadyExists):
        app.handle(CreateTeam("hotline", "again", actor=ADMIN))
    with pytest.raises(InvalidInput):
        app.handle(CreateTeam("bad code!", "x", actor=ADMIN))
    app.handle(RemoveTeamMember("hotline", B, actor=ADMIN))
    assert load_team(app.store, "hotline").members == []


def test_transfer_to_a_person_and_to_a_team(desk: Desk) -> None:
    ref = desk.open()
    desk.app.handle(Assign(ref, A, actor=A))
    agent = desk.api(A)
    r = post(agent, f"/service-requests/{ref}/transfer", {"to": B, "reason": "休假"})
    assert r.status_code == 200, r.text
    request = desk.app.service_request(ref)
    assert request.assignee == B
    r = post(agent, f"/service-requests/{ref}/transfer",
             {"to": "team:hotline", "reason": "热线处理"})
    assert r.status_code == 200, r.text
    request = desk.app.service_request(ref)
    assert (request.team, request.assignee) == ("hotline", None)
    events = [type(e).__name__ for e in desk.app.events.get(request.id)]
    assert events[-2:] == ["Transferred", "TransferredToTeam"]
    other = desk.open("not the team's")
    desk.project()
    queue = agent.get("/api/v1/inbox", params={"queue": "team:hotline"})
    assert queue.status_code == 200, queue.text
    assert [(i["reference"], i["team"], i["assignee"]) for i in queue.json()["items"]] == [
        (ref, "hotline", None)]
    unassigned = agent.get("/api/v1/inbox", params={"queue": "unassigned"}).json()["items"]
    assert {i["reference"] for i in unassigned} == {ref, other}
    assert agent.get("/api/v1/inbox", params={"queue": "team:BAD!"}).status_code == 400


def test_transfer_refusals(desk: Desk) -> None:
    ref = desk.open()
    agent = desk.api(A)
    unknown_team = post(agent, f"/service-requests/{ref}/transfer",
                        {"to": "team:nowhere", "reason": "x"})
    assert unknown_team.status_code == 404
    assert "nowhere" in unknown_team.json()["error"]["message"]
    unknown_user = post(agent, f"/service-requests/{ref}/transfer",
                        {"to": "ghost@desk.cn", "reason": "x"})
    assert unknown_user.status_code == 404
    assert "ghost@desk.cn" in unknown_user.json()["error"]["message"]
    stale = post(agent, f"/service-requests/{ref}/transfer",
                 {"to": B, "reason": "x", "expected_version": 0})
    assert stale.status_code == 409
    no_reason = post(agent, f"/service-requests/{ref}/transfer", {"to": B, "reason": " "})
    assert no_reason.status_code in (400, 422)
    assert desk.app.service_request(ref).assignee is None


def test_hand_over_moves_exactly_the_persons_open_requests(desk: Desk) -> None:
    held = [desk.open(f"held {n}") for n in range(3)]
    for ref in held:
        desk.app.handle(Assign(ref, A, actor=A))
    others = desk.open("someone else's")
    desk.app.handle(Assign(others, B, actor=B))
    unassigned = desk.open("nobody's")
    r = post(desk.api(MANAGER), f"/users/{A}/hand-over", {"to": B, "reason": "离职"})
    assert r.status_code == 200, r.text
    assert r.json() == {"transferred": 3}
    assert all(desk.app.service_request(ref).assignee == B for ref in held)
    assert desk.app.service_request(unassigned).assignee is None
    again = post(desk.api(ADMIN), f"/users/{A}/hand-over", {"to": "team:hotline", "reason": "x"})
    assert again.json() == {"transferred": 0}
    refused = post(desk.api(A), f"/users/{B}/hand-over", {"to": A, "reason": "x"})
    assert refused.status_code == 403


def test_urge_by_a_manager_is_recorded_and_counted(desk: Desk) -> None:
    ref = desk.open()
    manager = desk.api(MANAGER)
    r = post(manager, f"/service-requests/{ref}/urge", {"message": "客户催了三次"})
    assert r.status_code == 200, r.text
    request = desk.app.service_request(ref)
    assert [type(e).__name__ for e in desk.app.events.get(request.id)][-1] == "Urged"
    refused = post(desk.api(A), f"/service-requests/{ref}/urge", {"message": "x"})
    assert refused.status_code == 403
    desk.project()
    summary = manager.get("/api/v1/reports/summary",
                          params={"from": "2000-01-01", "to": "2999-01-01"})
    assert summary.status_code == 200, summary.text
    assert summary.json()["urges"] == {"count": 1}


def test_console_transfer_and_urge_forms(desk: Desk) -> None:
    ref = desk.open()
    desk.project()
    agent = desk.browser(A)
    page = agent.get(f"/console/requests/{ref}").text
    assert 'data-action="transfer"' in page and 'value="team:hotline"' in page
    assert 'data-action="urge"' not in page  # agents do not urge
    assert 'href="/console?queue=team:hotline"' in page  # the sidebar's team queue
    moved = agent.post(f"/console/requests/{ref}/transfer", follow_redirects=False, data={
        "to": "team:hotline", "reason": "热线处理", "csrf_token": csrf_of(page)})
    assert moved.status_code == 303, moved.text
    assert desk.app.service_request(ref).team == "hotline"
    refused = agent.post(f"/console/requests/{ref}/urge", follow_redirects=False, data={
        "message": "x", "csrf_token": csrf_of(page)})
    assert refused.status_code == 403
    manager = desk.browser(MANAGER)
    desk.project()
    page = manager.get(f"/console/requests/{ref}").text
    assert 'data-action="urge"' in page
    urged = manager.post(f"/console/requests/{ref}/urge", follow_redirects=False, data={
        "message": "今天内回复客户", "csrf_token": csrf_of(page)})
    assert urged.status_code == 303, urged.text
    desk.project()
    page = manager.get(f"/console/requests/{ref}").text
    assert 'data-kind="urged"' in page and "今天内回复客户" in page
    team_queue = manager.get("/console", params={"queue": "team:hotline"}).text
    assert f'data-reference="{ref}"' in team_queue


def test_teams_over_the_api_are_for_admins(desk: Desk) -> None:
    admin = desk.api(ADMIN)
    made = post(admin, "/teams", {"code": "quality", "name": "质量"})
    assert made.status_code == 201 and made.json() == {"code": "quality"}
    assert post(admin, "/teams", {"code": "quality", "name": "again"}).status_code == 409
    assert post(admin, "/teams/quality/members", {"email": A}).status_code == 200
    assert load_team(desk.app.store, "quality").members == [A]
    assert post(admin, "/teams/quality/members/remove", {"email": A}).status_code == 200
    assert post(admin, "/teams/nowhere/members", {"email": A}).status_code == 404
    assert post(desk.api(MANAGER), "/teams", {"code": "x", "name": "x"}).status_code == 403
