"""The contract's escalate, satisfaction and follow-up commands through the
JSON API, on SQLite and PostgreSQL: who may, in which state, and what a bad
body answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import ChangeStatus, OpenRequest
from domain.users.commands import AddUser
from ledgerdesk.config import Database
from tests.support.desks import PASSWORD, WebDesk, desk_settings

AGENT, ENGINEER, MANAGER = "a@desk.cn", "eng@desk.cn", "boss@desk.cn"
LI, OTHER = "li@acme.cn", "zhang@beta.cn"
WANG = "wang@acme.cn"  # a plain customer of ACME too, who did not open Li's requests


class Desk(WebDesk):
    def __init__(self, app: Ledgerdesk, store: Database, tmp_path: Path) -> None:
        super().__init__(app, desk_settings(store, tmp_path))

    def open(self, subject: str = "打印机卡纸") -> str:
        # Opened by Li on the portal: a plain customer acts on the requests they
        # opened or wrote on (CONTRACT.md, "Who may do what").
        return str(self.app.handle(OpenRequest("ACME", "support", subject, actor=f"web:{LI}")))

    def resolved(self) -> str:
        ref = self.open()
        self.app.handle(ChangeStatus(ref, "resolved", actor=AGENT, reason="换了搓纸轮"))
        # Whose request it is comes from the read models, as on the portal: a
        # request the views have not seen yet is a 404 to a customer.
        self.project()
        return ref


@pytest.fixture
def desk(app: Ledgerdesk, store: Database, tmp_path: Path) -> Iterator[Desk]:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    app.handle(RegisterCustomer("BETA", "贝塔", actor="setup"))
    for email, roles, code in ((AGENT, ["agent"], None), (ENGINEER, ["engineer"], None),
                               (MANAGER, ["manager"], None), (LI, ["customer"], "ACME"),
                               (WANG, ["customer"], "ACME"),
                               (OTHER, ["customer_admin"], "BETA")):
        app.handle(AddUser(email, roles, actor="setup", password=PASSWORD, customer_code=code))
    d = Desk(app, store, tmp_path)
    yield d
    d.models.close()


def post(client: TestClient, path: str, body: Any) -> Any:
    return client.post(f"/api/v1{path}", json=body)


def test_escalate_with_level_and_due_time_shows_in_timeline_and_queue(desk: Desk) -> None:
    ref = desk.open()
    desk.open("另一个")  # not escalated: not in the queue
    agent = desk.api(AGENT)
    version = desk.app.service_request(ref).version
    r = post(agent, f"/service-requests/{ref}/escalate",
             {"reason": "客户投诉三次", "level": 2, "due_at": "2026-12-05T09:00:00+08:00",
              "expected_version": version})
    assert r.status_code == 200, r.text
    request = desk.app.service_request(ref)
    assert (request.status, request.escalation_level) == ("escalated", 2)
    desk.project()
    timeline = agent.get(f"/api/v1/service-requests/{ref}").json()["timeline"]
    step = [e for e in timeline if (e.get("data") or {}).get("to") == "escalated"]
    assert len(step) == 1, timeline
    assert step[0]["data"]["level"] == 2
    assert step[0]["data"]["due_at"].startswith("2026-12-05T01:00:00")
    queue = agent.get("/api/v1/inbox", params={"queue": "escalated"})
    assert queue.status_code == 200, queue.text
    assert [i["reference"] for i in queue.json()["items"]] == [ref]
    # Without a level it goes one up; a stale version is a 409.
    assert post(desk.api(MANAGER), f"/service-requests/{ref}/escalate",
                {"reason": "仍未解决"}).status_code == 200
    assert desk.app.service_request(ref).escalation_level == 3
    stale = post(agent, f"/service-requests/{ref}/escalate",
                 {"reason": "again", "expected_version": version})
    assert stale.status_code == 409, stale.text


def test_escalate_refusals(desk: Desk) -> None:
    ref = desk.open()
    agent = desk.api(AGENT)
    for body in ({}, {"reason": "  "}, {"reason": "x", "level": 0}, {"reason": "x", "level": "2"},
                 {"reason": "x", "due_at": "tomorrow"}, {"reason": "x", "colour": "red"}):
        r = post(agent, f"/service-requests/{ref}/escalate", body)
        assert r.status_code == 400, (body, r.text)
    assert post(desk.api(LI), f"/service-requests/{ref}/escalate",
                {"reason": "x"}).status_code == 403
    assert post(agent, "/service-requests/SR-999999/escalate",
                {"reason": "x"}).status_code == 404
    desk.app.handle(ChangeStatus(ref, "closed", actor=AGENT))
    closed = post(agent, f"/service-requests/{ref}/escalate", {"reason": "x"})
    assert closed.status_code == 422, closed.text
    assert desk.app.service_request(ref).status == "closed"


def test_customer_rates_a_resolved_request_once(desk: Desk) -> None:
    ref = desk.resolved()
    li = desk.api(LI)
    r = post(li, f"/service-requests/{ref}/satisfaction", {"score": 4, "comment": "很快"})
    assert r.status_code == 201, r.text
    assert desk.app.service_request(ref).satisfaction == 4
    again = post(li, f"/service-requests/{ref}/satisfaction", {"score": 1})
    assert again.status_code == 422, again.text
    assert desk.app.service_request(ref).satisfaction == 4
    desk.project()
    timeline = li.get(f"/api/v1/service-requests/{ref}").json()["timeline"]
    assert [e["kind"] for e in timeline].count("satisfaction") == 1


def test_rating_refusals(desk: Desk) -> None:
    open_ref, ref = desk.open(), desk.resolved()  # resolved() projects both
    li = desk.api(LI)
    on_open = post(li, f"/service-requests/{open_ref}/satisfaction", {"score": 5})
    assert on_open.status_code == 422, on_open.text
    for score in (0, 6, "5", 4.5, True, None):
        r = post(li, f"/service-requests/{ref}/satisfaction", {"score": score})
        assert r.status_code == 400, (score, r.text)
    nan = li.post(f"/api/v1/service-requests/{ref}/satisfaction", content=b'{"score": NaN}',
                  headers={"content-type": "application/json"})
    assert nan.status_code == 400, nan.text
    foreign = post(desk.api(OTHER), f"/service-requests/{ref}/satisfaction", {"score": 5})
    assert foreign.status_code == 404, foreign.text
    desk.project()
    colleague = post(desk.api(WANG), f"/service-requests/{ref}/satisfaction", {"score": 5})
    assert colleague.status_code == 404, colleague.text
    unknown = post(li, "/service-requests/SR-999999/satisfaction", {"score": 5})
    assert unknown.status_code == 404, unknown.text
    agent = post(desk.api(AGENT), f"/service-requests/{ref}/satisfaction", {"score": 5})
    assert agent.status_code == 403, agent.text
    assert desk.app.service_request(ref).satisfaction is None
    # Nothing lost: a good rating still goes through after all the bad ones.
    # 3.0 is the integer 3 to JSON Schema (and so to the fuzzer).
    assert post(li, f"/service-requests/{ref}/satisfaction", {"score": 3.0}).status_code == 201
    assert desk.app.service_request(ref).satisfaction == 3


def test_customer_follows_up(desk: Desk) -> None:
    ref = desk.open()
    desk.project()
    li = desk.api(LI)
    r = post(li, f"/service-requests/{ref}/follow-ups", {"body": "还是卡纸，请尽快"})
    assert r.status_code == 201, r.text
    desk.project()
    timeline = li.get(f"/api/v1/service-requests/{ref}").json()["timeline"]
    assert "还是卡纸，请尽快" in [e.get("body") for e in timeline if e["kind"] == "message"]
    assert post(li, f"/service-requests/{ref}/follow-ups", {"body": " "}).status_code == 400
    assert post(li, f"/service-requests/{ref}/follow-ups", {}).status_code == 400
    assert post(desk.api(OTHER), f"/service-requests/{ref}/follow-ups",
                {"body": "x"}).status_code == 404
    assert post(desk.api(WANG), f"/service-requests/{ref}/follow-ups",
                {"body": "x"}).status_code == 404
    assert post(desk.api(AGENT), f"/service-requests/{ref}/follow-ups",
                {"body": "x"}).status_code == 403
    # On a resolved request the message opens it again, as on the portal.
    resolved = desk.resolved()
    assert post(li, f"/service-requests/{resolved}/follow-ups",
                {"body": "又坏了"}).status_code == 201
    assert desk.app.service_request(resolved).status != "resolved"
