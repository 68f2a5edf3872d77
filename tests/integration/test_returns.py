"""Return and exchange (RMA, 退换货) and quality feedback, issue 16 items 4 and 5,
end to end through the API on SQLite and PostgreSQL: the happy path, every step
refused out of order or by the wrong person, the timeline and what the customer
sees of it, and quality cases tracked to a conclusion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.aggregates.return_case import ReturnCase
from domain.application import Ledgerdesk
from domain.customers.commands import EraseCustomer, RegisterCustomer
from domain.installed_base.commands import RegisterProduct
from domain.requests.commands import OpenRequest
from domain.teams.commands import AddTeamMember, CreateTeam
from domain.users.commands import AddUser
from ledgerdesk.config import Database
from tests.support.desks import PASSWORD, WebDesk, desk_settings

AGENT, TECH, ENGINEER, MANAGER, ADMIN = ("a@desk.cn", "tc@desk.cn", "eng@desk.cn",
                                         "boss@desk.cn", "root@desk.cn")
CUSTOMER = "li@acme.cn"
SERIAL = "MX3000-2024-00817"


class Desk(WebDesk):
    def __init__(self, app: Ledgerdesk, store: Database, tmp_path: Path) -> None:
        super().__init__(app, desk_settings(store, tmp_path))

    def open(self, request_type: str = "return") -> str:
        return str(self.app.handle(OpenRequest("ACME", request_type, "退货: 电机异响",
                                               actor=CUSTOMER and f"web:{CUSTOMER}",
                                               product=SERIAL)))


@pytest.fixture
def desk(app: Ledgerdesk, store: Database, tmp_path: Path) -> Iterator[Desk]:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    app.handle(RegisterProduct(SERIAL, "MX-3000", "ACME", actor="setup"))
    for email, roles in ((AGENT, ["agent"]), (TECH, ["agent"]), (ENGINEER, ["engineer"]),
                         (MANAGER, ["manager"]), (ADMIN, ["admin"])):
        app.handle(AddUser(email, roles, actor="setup", password=PASSWORD))
    app.handle(AddUser(CUSTOMER, ["customer_admin"], actor="setup", password=PASSWORD,
                       customer_code="ACME"))
    d = Desk(app, store, tmp_path)
    yield d
    d.models.close()


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1{path}", json=body)


def test_a_return_goes_from_diagnosis_to_the_commercial_process(desk: Desk) -> None:
    ref = desk.open()
    engineer, agent, manager = desk.api(ENGINEER), desk.api(AGENT), desk.api(MANAGER)

    r = post(engineer, f"/service-requests/{ref}/diagnosis",
             {"cause": "bearing worn out", "findings": "noise above 40 Hz"})
    assert r.status_code == 201, r.text
    r = post(agent, f"/service-requests/{ref}/judgement",
             {"decision": "exchange", "reason": "bearing fault within 90 days"})
    assert r.status_code == 200, r.text
    r = post(manager, f"/service-requests/{ref}/approval", {"approved": True, "comment": "ok"})
    assert r.status_code == 200, r.text

    case = desk.app.store.get(ReturnCase, ReturnCase.create_id(ref))
    assert case is not None and case.stage == "handed_off"
    events = desk.app.store.events(case.id)
    hand_off = events[-1]
    assert type(hand_off).__name__ == "CommercialHandOff"
    assert (hand_off.decision, hand_off.serial, hand_off.model, hand_off.customer_code,
            hand_off.reference) == ("exchange", SERIAL, "MX-3000", "ACME", ref)

    desk.project()
    got = agent.get(f"/api/v1/service-requests/{ref}/return").json()
    assert got["stage"] == "handed_off" and got["decision"] == "exchange"
    assert got["cause"] == "bearing worn out" and got["approved_by"] == MANAGER
    timeline = agent.get(f"/api/v1/service-requests/{ref}").json()["timeline"]
    steps = [(e["kind"], e["data"].get("stage")) for e in timeline
             if e["kind"] in ("diagnosis", "judgement", "approval", "commercial_hand_off")]
    assert steps == [("diagnosis", "diagnosed"), ("judgement", "judged"),
                     ("approval", "approved"), ("commercial_hand_off", "handed_off")]
    assert [e["body"] for e in timeline if e["kind"] == "judgement"] == [
        "bearing fault within 90 days"]

    # The customer sees the stages and the outcome, never the reasons or the cause.
    customer = desk.api(CUSTOMER).get(f"/api/v1/service-requests/{ref}").json()["timeline"]
    seen = [e for e in customer if e["kind"] in ("diagnosis", "judgement", "approval",
                                                "commercial_hand_off")]
    assert [e["data"] for e in seen] == [
        {"stage": "diagnosed"}, {"stage": "judged"},
        {"stage": "approved", "approved": True, "decision": "exchange"},
        {"stage": "handed_off", "decision": "exchange"}]
    assert all(e["body"] == "" and e["actor"] == "Support" for e in seen)
    portal = desk.browser(CUSTOMER).get(f"/portal/requests/{ref}")
    assert portal.status_code == 200
    assert "Exchange approved" in portal.text
    assert "bearing" not in portal.text


def test_every_step_out_of_order_is_refused_with_a_message(desk: Desk) -> None:
    ref = desk.open()
    engineer, agent, manager = desk.api(ENGINEER), desk.api(AGENT), desk.api(MANAGER)

    r = post(agent, f"/service-requests/{ref}/judgement", {"decision": "return", "reason": "x"})
    assert r.status_code == 422 and "no diagnosis yet" in r.json()["error"]["message"]
    r = post(manager, f"/service-requests/{ref}/approval", {"approved": True})
    assert r.status_code == 422 and "no diagnosis yet" in r.json()["error"]["message"]
    # No diagnosis without a known cause.
    for cause in ("", "  ", "unknown", "原因不明"):
        r = post(engineer, f"/service-requests/{ref}/diagnosis", {"cause": cause})
        assert r.status_code == 400 and "cause" in r.json()["error"]["fields"], (cause, r.text)
    assert desk.app.store.get(ReturnCase, ReturnCase.create_id(ref)) is None

    assert post(engineer, f"/service-requests/{ref}/diagnosis",
                {"cause": "capacitor C12 burnt"}).status_code == 201
    r = post(manager, f"/service-requests/{ref}/approval", {"approved": True})
    assert r.status_code == 422 and "not judged" in r.json()["error"]["message"]
    r = post(agent, f"/service-requests/{ref}/judgement", {"decision": "refund", "reason": "x"})
    assert r.status_code == 400 and "decision" in r.json()["error"]["fields"]
    r = post(agent, f"/service-requests/{ref}/judgement", {"decision": "return", "reason": ""})
    assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]
    assert post(agent, f"/service-requests/{ref}/judgement",
                {"decision": "return", "reason": "dead on arrival"}).status_code == 200
    r = post(agent, f"/service-requests/{ref}/judgement", {"decision": "repair", "reason": "x"})
    assert r.status_code == 422 and "waits for a manager" in r.json()["error"]["message"]
    r = post(engineer, f"/service-requests/{ref}/diagnosis", {"cause": "other"})
    assert r.status_code == 422 and "judged" in r.json()["error"]["message"]
    r = post(manager, f"/service-requests/{ref}/approval", {"approved": "yes"})
    assert r.status_code == 400 and "approved" in r.json()["error"]["fields"]

    # Not approved: back to the technical centre, which judges again.
    assert post(manager, f"/service-requests/{ref}/approval",
                {"approved": False, "comment": "check the batch"}).status_code == 200
    r = post(manager, f"/service-requests/{ref}/approval", {"approved": True})
    assert r.status_code == 422 and "not judged" in r.json()["error"]["message"]
    assert post(agent, f"/service-requests/{ref}/judgement",
                {"decision": "repair", "reason": "replace C12"}).status_code == 200
    assert post(manager, f"/service-requests/{ref}/approval",
                {"approved": True}).status_code == 200
    # A second approval is refused; so is a judgement after it.
    r = post(manager, f"/service-requests/{ref}/approval", {"approved": True})
    assert r.status_code == 422 and "approved already" in r.json()["error"]["message"]
    r = post(agent, f"/service-requests/{ref}/judgement", {"decision": "return", "reason": "x"})
    assert r.status_code == 422 and "approved already" in r.json()["error"]["message"]

    case = desk.app.store.get(ReturnCase, ReturnCase.create_id(ref))
    assert case is not None and (case.stage, case.decision) == ("approved", "repair")
    names = [type(e).__name__ for e in desk.app.store.events(case.id)]
    # An approved repair goes back to field service: no commercial hand-off.
    assert names == ["Diagnosed", "Judged", "ApprovalGiven", "Judged", "ApprovalGiven"]


def test_who_may_take_each_step(desk: Desk) -> None:
    ref = desk.open()
    engineer, agent, tech = desk.api(ENGINEER), desk.api(AGENT), desk.api(TECH)
    # Only an engineer diagnoses (严禁其他部门人员代写诊断报告).
    for who in (agent, desk.api(MANAGER)):
        assert post(who, f"/service-requests/{ref}/diagnosis",
                    {"cause": "fan"}).status_code == 403
    assert post(engineer, f"/service-requests/{ref}/diagnosis",
                {"cause": "fan blade broken"}).status_code == 201
    # Engineers do not judge; agents approve nothing.
    assert post(engineer, f"/service-requests/{ref}/judgement",
                {"decision": "return", "reason": "x"}).status_code == 403
    # Once a technical_centre team exists, only its members (and managers) judge.
    desk.app.handle(CreateTeam("technical_centre", "技术中心", actor=ADMIN))
    desk.app.handle(AddTeamMember("technical_centre", TECH, actor=ADMIN))
    r = post(agent, f"/service-requests/{ref}/judgement", {"decision": "return", "reason": "x"})
    assert r.status_code == 403 and "technical centre" in r.json()["error"]["message"]
    assert post(tech, f"/service-requests/{ref}/judgement",
                {"decision": "reject", "reason": "misuse"}).status_code == 200
    assert post(tech, f"/service-requests/{ref}/approval", {"approved": True}).status_code == 403
    assert post(desk.api(CUSTOMER), f"/service-requests/{ref}/approval",
                {"approved": True}).status_code == 403
    assert post(desk.api(MANAGER), f"/service-requests/{ref}/approval",
                {"approved": True}).status_code == 200


def test_only_open_returns_are_diagnosed(desk: Desk) -> None:
    engineer = desk.api(ENGINEER)
    support = desk.open("support")
    r = post(engineer, f"/service-requests/{support}/diagnosis", {"cause": "fan"})
    assert r.status_code == 422 and "not a return" in r.json()["error"]["message"]
    assert post(engineer, "/service-requests/SR-999999/diagnosis",
                {"cause": "fan"}).status_code == 404
    assert post(engineer, "/service-requests/SR-999999/judgement",
                {"decision": "return", "reason": "x"}).status_code == 403
    assert post(desk.api(AGENT), "/service-requests/SR-999999/judgement",
                {"decision": "return", "reason": "x"}).status_code == 404
    r = post(engineer, f"/service-requests/{desk.open()}/diagnosis",
             {"cause": "fan", "extra": 1})
    assert r.status_code == 400 and "extra" in r.text


def test_a_quality_case_goes_to_the_teams_and_is_concluded(desk: Desk) -> None:
    ref = desk.open("repair")
    engineer, agent = desk.api(ENGINEER), desk.api(AGENT)
    r = post(engineer, "/quality-cases", {"source_reference": ref, "origin": "repair",
                                          "product": "MX-3000", "batch": "B2024-11",
                                          "symptom": "motor overheats after 2 h"})
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    for body, field in (({"origin": "visit"}, "origin"), ({"batch": " "}, "batch"),
                        ({"symptom": ""}, "symptom")):
        bad = {"source_reference": ref, "origin": "repair", "product": "MX-3000",
               "batch": "B1", "symptom": "s", **body}
        r = post(engineer, "/quality-cases", bad)
        assert r.status_code == 400 and field in r.json()["error"]["fields"]
    assert post(engineer, "/quality-cases", {
        "source_reference": "SR-999999", "origin": "repair", "product": "MX-3000",
        "batch": "B1", "symptom": "s"}).status_code == 404

    r = post(agent, f"/quality-cases/{code}/conclusion", {"conclusion": "x"})
    assert r.status_code == 422 and "not under investigation" in r.json()["error"]["message"]
    assert post(agent, f"/quality-cases/{code}/investigation", {}).status_code == 200
    assert post(agent, f"/quality-cases/{code}/investigation", {}).status_code == 422
    r = post(agent, f"/quality-cases/{code}/conclusion", {"conclusion": " "})
    assert r.status_code == 400
    assert post(agent, f"/quality-cases/{code}/conclusion",
                {"conclusion": "winding insulation class too low in B2024-11; recall"}
                ).status_code == 200
    assert post(agent, f"/quality-cases/{code}/conclusion",
                {"conclusion": "again"}).status_code == 422
    assert post(desk.api(CUSTOMER), "/quality-cases", {
        "source_reference": ref, "origin": "repair", "product": "MX-3000",
        "batch": "B1", "symptom": "s"}).status_code == 403

    desk.project()
    listed = agent.get("/api/v1/quality-cases?team=quality").json()["items"]
    assert [(c["code"], c["status"], c["batch"], c["serial"], c["source_reference"])
            for c in listed] == [(code, "concluded", "B2024-11", SERIAL, ref)]
    assert agent.get("/api/v1/quality-cases?team=team:product").json()["items"]
    assert agent.get("/api/v1/quality-cases?team=hotline").json()["items"] == []
    assert agent.get("/api/v1/quality-cases?status=open").json()["items"] == []
    assert agent.get("/api/v1/quality-cases?status=nope").status_code == 400
    one = agent.get(f"/api/v1/quality-cases/{code}").json()
    assert one["conclusion"].startswith("winding") and one["investigator"] == AGENT
    assert agent.get("/api/v1/quality-cases/QC-00000000").status_code == 404
    page = desk.browser(AGENT).get("/console/quality")
    assert page.status_code == 200 and code in page.text and "B2024-11" in page.text


def test_an_erasure_keeps_the_technical_facts_of_a_return(desk: Desk) -> None:
    ref = desk.open()
    post(desk.api(ENGINEER), f"/service-requests/{ref}/diagnosis",
         {"cause": "rotor cracked", "findings": "Customer Li Wei, 13800000001, says it fell"})
    post(desk.api(AGENT), f"/service-requests/{ref}/judgement",
         {"decision": "return", "reason": "Mr Li's unit is beyond repair"})
    post(desk.api(MANAGER), f"/service-requests/{ref}/approval", {"approved": True})
    desk.app.handle(EraseCustomer("ACME", "PIPL request", actor=ADMIN))
    desk.project()

    events = desk.app.store.events(ReturnCase.create_id(ref))
    diagnosed, judged, hand_off = events[0], events[1], events[-1]
    assert (diagnosed.cause, diagnosed.serial, judged.decision) == ("rotor cracked", SERIAL,
                                                                    "return")
    assert "13800000001" not in str(diagnosed.findings) and "Li" not in str(judged.reason)
    assert (hand_off.decision, hand_off.serial, hand_off.customer_code) == ("return", SERIAL,
                                                                           "ACME")
    timeline = desk.api(AGENT).get(f"/api/v1/service-requests/{ref}").json()["timeline"]
    steps = {e["kind"]: e for e in timeline}
    assert steps["diagnosis"]["data"]["cause"] == "rotor cracked"
    assert "13800000001" not in steps["diagnosis"]["body"]
    assert steps["commercial_hand_off"]["data"]["decision"] == "return"
