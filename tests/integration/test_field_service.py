"""Field service (issue 16 items 1-2): intake, dispatch, accept/decline,
appointment, visits, the signed service report, second visits, carry-in and
mail-in, end to end through the API on SQLite and PostgreSQL, with every step
refused out of order, and two coordinators dispatching at once."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.customers.commands import RegisterCustomer
from domain.installed_base.commands import RegisterProduct
from domain.requests.commands import OpenRequest
from domain.teams.commands import AddTeamMember, CreateTeam
from domain.users.commands import AddUser, DeactivateUser
from ledgerdesk.config import Database
from tests.support.desks import PASSWORD, WebDesk, desk_settings

AGENT, AGENT2, ENGINEER, ENGINEER2, ADMIN, CUSTOMER = (
    "coord@desk.cn", "coord2@desk.cn", "eng@desk.cn", "eng2@desk.cn", "root@desk.cn",
    "li@acme.cn")
APPOINTMENT = "2026-12-07T09:00:00+08:00"


def png(width: int = 120, height: int = 40) -> str:
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    for x in range(10, 110):
        image.putpixel((x, height // 2), (0, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


class Desk(WebDesk):
    cache_clients = True

    def __init__(self, app: Ledgerdesk, store: Database, tmp_path: Path) -> None:
        self.blobs = BlobStore(tmp_path / "b")
        super().__init__(app, desk_settings(store, tmp_path), blobs=self.blobs)

    def post(self, email: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.api(email).post(f"/api/v1{path}", json=body or {})

    def ok(self, email: str, path: str, body: dict[str, Any] | None = None,
           status: int = 200) -> Any:
        r = self.post(email, path, body)
        assert r.status_code == status, r.text
        return r.json()

    def refused(self, email: str, path: str, body: dict[str, Any] | None, status: int,
                says: str) -> None:
        r = self.post(email, path, body)
        assert r.status_code == status, r.text
        assert says in r.json()["error"]["message"], r.text

    def open(self, product: str | None = "UPS-0001") -> str:
        return str(self.app.handle(OpenRequest("ACME", "repair", "UPS 不启动", actor=AGENT,
                                               product=product)))

    def get(self, email: str, path: str) -> Any:
        self.project()
        r = self.api(email).get(f"/api/v1{path}")
        assert r.status_code == 200, r.text
        return r.json()

    def timeline(self, ref: str, email: str = AGENT) -> list[dict[str, Any]]:
        return list(self.get(email, f"/service-requests/{ref}")["timeline"])

    def stage(self, ref: str) -> str:
        return str(self.get(AGENT, f"/service-requests/{ref}/field-job")["stage"])


@pytest.fixture
def desk(app: Ledgerdesk, store: Database, tmp_path: Path) -> Iterator[Desk]:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    for email, roles in ((AGENT, ["agent"]), (AGENT2, ["manager"]), (ENGINEER, ["engineer"]),
                         (ENGINEER2, ["engineer"]), (ADMIN, ["admin"])):
        app.handle(AddUser(email, roles, actor="setup", password=PASSWORD))
    app.handle(AddUser(CUSTOMER, ["customer_admin"], actor="setup", customer_code="ACME",
                       password=PASSWORD))
    app.handle(RegisterProduct("UPS-0001", "UPS-3000", "ACME", actor="setup",
                               warranty_until="2099-12-31"))
    app.handle(RegisterProduct("UPS-0002", "UPS-3000", "ACME", actor="setup",
                               warranty_until="2020-01-31"))
    app.handle(CreateTeam("field", "上门服务", actor=ADMIN))
    app.handle(AddTeamMember("field", ENGINEER2, actor=ADMIN))
    d = Desk(app, store, tmp_path)
    yield d
    d.models.close()


def on_site(desk: Desk, ref: str, engineer: str = ENGINEER) -> None:
    desk.ok(AGENT, f"/service-requests/{ref}/intake",
            {"symptom": "无法开机", "warranty": "unknown", "mode": "on_site"}, 201)
    desk.ok(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": engineer})


def test_the_on_site_flow_from_intake_to_the_signed_report(desk: Desk) -> None:
    ref = desk.open()
    answer = desk.ok(AGENT, f"/service-requests/{ref}/intake",
                     {"symptom": "无法开机", "warranty": "unknown", "level": "gold",
                      "mode": "on_site"}, 201)
    assert answer == {"reference": ref, "warranty": "in"}  # the unit's warranty end decides
    desk.ok(AGENT, f"/service-requests/{ref}/dispatch",
            {"engineer": ENGINEER, "distance_km": 18.5})
    assert desk.stage(ref) == "dispatched"
    desk.ok(ENGINEER, f"/service-requests/{ref}/dispatch/accept")
    desk.ok(ENGINEER, f"/service-requests/{ref}/appointment",
            {"appointment_at": APPOINTMENT, "note": "客户要求上午"})
    assert desk.get(AGENT, f"/service-requests/{ref}/field-job")["appointment_at"] == \
        "2026-12-07T01:00:00+00:00"
    desk.ok(ADMIN, "/parts/FAN-220V/receive", {"warehouse": "BJ", "qty": 5})
    desk.ok(ADMIN, "/parts/FAN-220V/issue",
            {"warehouse": "BJ", "engineer": ENGINEER, "qty": 2, "reference": ref})
    desk.ok(ENGINEER, f"/service-requests/{ref}/visit/start")
    desk.ok(ENGINEER, f"/service-requests/{ref}/visit/end", {"distance_km": 21})
    desk.ok(ENGINEER, f"/service-requests/{ref}/service-report", {
        "cause": "风扇损坏", "actions": "更换风扇", "minutes": 75, "signed_by": "王工",
        "parts": [{"sku": "fan-220v", "warehouse": "bj", "qty": 1,
                   "faulty_serials": ["FAN-OLD-9"]}],
        "signature": png()}, 201)
    job = desk.get(AGENT, f"/service-requests/{ref}/field-job")
    assert (job["stage"], job["engineer"], job["reports"], job["distance_km"]) == \
        ("reported", ENGINEER, 1, 21.0)
    part = desk.get(ADMIN, "/parts/FAN-220V")
    assert part["stock"] == {"BJ": 3}
    assert part["held"] == [{"engineer": ENGINEER, "reference": ref, "qty": 1}]

    kinds = [(e["kind"], e["data"].get("step")) for e in desk.timeline(ref)]
    assert kinds[1:] == [("intake", None), ("dispatch", "dispatched"), ("dispatch", "accepted"),
                         ("appointment", None), ("visit", "started"), ("visit", "ended"),
                         ("service_report", None)]
    report = desk.timeline(ref)[-1]
    assert report["data"]["parts"] == [{"sku": "FAN-220V", "warehouse": "BJ", "qty": 1,
                                        "faulty_serials": ["FAN-OLD-9"]}]
    assert report["data"]["minutes"] == 75 and report["data"]["mode"] == "on_site"
    assert report["attachments"][0]["content_type"] == "image/png"
    assert "key" not in report["attachments"][0]
    intake = desk.timeline(ref)[1]
    assert intake["data"]["warranty_checked"] == "in"
    assert intake["data"]["warranty_basis"] == "warranty_until 2099-12-31"

    # The customer sees the stage, not who was sent or the engineer's note.
    seen = desk.timeline(ref, CUSTOMER)
    shown = [(e["kind"], e["data"]) for e in seen if e["kind"] != "opened"]
    assert shown == [("intake", {"mode": "on_site", "warranty_checked": "in"}),
                     ("dispatch", {"step": "dispatched", "appointment_at": None}),
                     ("dispatch", {"step": "accepted"}),
                     ("appointment", {"appointment_at": "2026-12-07T01:00:00+00:00"}),
                     ("visit", {"step": "started", "visit": 1}),
                     ("visit", {"step": "ended", "visit": 1}),
                     ("service_report", {"visit": 1, "signed": True})]
    assert all(e["body"] == "" and e["attachments"] == [] for e in seen[1:])


def test_warranty_unknown_is_checked_against_the_installed_base(desk: Desk) -> None:
    expired, unregistered, none = desk.open("UPS-0002"), desk.open("NOPE-1"), desk.open(None)
    for ref, expected in ((expired, "out"), (unregistered, "unknown"), (none, "unknown")):
        assert desk.ok(AGENT, f"/service-requests/{ref}/intake",
                       {"symptom": "x", "warranty": "unknown", "mode": "phone"},
                       201)["warranty"] == expected
    stated = desk.open("UPS-0002")
    assert desk.ok(AGENT, f"/service-requests/{stated}/intake",
                   {"symptom": "x", "warranty": "in", "mode": "phone"}, 201)["warranty"] == "in"
    desk.refused(AGENT, f"/service-requests/{stated}/intake",
                 {"symptom": "x", "warranty": "in", "mode": "phone"}, 409, "recorded already")
    # A phone answer needs nobody on site.
    desk.refused(AGENT, f"/service-requests/{expired}/dispatch", {"engineer": ENGINEER}, 422,
                 "phone answer")


def test_paid_service_records_the_price_policy_and_the_acceptance(desk: Desk) -> None:
    ref = desk.open("UPS-0002")
    desk.refused(AGENT, f"/service-requests/{ref}/intake",
                 {"symptom": "x", "warranty": "out", "mode": "paid"}, 422, "price policy")
    desk.refused(AGENT, f"/service-requests/{ref}/intake",
                 {"symptom": "x", "warranty": "out", "mode": "paid", "price_policy": "标准"},
                 422, "accepted the price")
    desk.refused(AGENT, f"/service-requests/{ref}/intake",
                 {"symptom": "x", "warranty": "out", "mode": "paid", "price_policy": "标准",
                  "price": "1e3", "price_accepted": True}, 400, "350.00")
    desk.ok(AGENT, f"/service-requests/{ref}/intake",
            {"symptom": "x", "warranty": "out", "mode": "paid", "price_policy": "过保上门 标准价",
             "price": 350, "price_accepted": False, "accepted_by": "李伟"}, 201)
    desk.refused(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": ENGINEER}, 422,
                 "not accepted the price")
    intake = desk.timeline(ref)[1]["data"]
    assert (intake["price_policy"], intake["price"], intake["price_accepted"],
            intake["accepted_by"]) == ("过保上门 标准价", "350.00", False, "李伟")
    accepted = desk.open("UPS-0002")
    desk.ok(AGENT, f"/service-requests/{accepted}/intake",
            {"symptom": "x", "warranty": "out", "mode": "paid", "price_policy": "标准价",
             "price": "350.00", "price_accepted": True}, 201)
    desk.ok(AGENT, f"/service-requests/{accepted}/dispatch", {"engineer": ENGINEER})


def test_who_may_dispatch_and_whom(desk: Desk) -> None:
    ref = desk.open()
    desk.refused(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": ENGINEER}, 422,
                 "record the intake first")
    desk.ok(AGENT, f"/service-requests/{ref}/intake",
            {"symptom": "x", "warranty": "in", "mode": "on_site"}, 201)
    r = desk.post(ENGINEER, f"/service-requests/{ref}/dispatch", {"engineer": ENGINEER})
    assert r.status_code == 403
    desk.refused(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": AGENT}, 422,
                 "not an active engineer")
    desk.refused(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": "nobody@x.cn"}, 404,
                 "no engineer")
    desk.refused(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": "team:nope"}, 404,
                 "no team")
    desk.app.handle(DeactivateUser(ENGINEER, actor=ADMIN))
    desk.refused(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": ENGINEER}, 422,
                 "not an active engineer")
    desk.refused(AGENT, "/service-requests/SR-999999/dispatch", {"engineer": ENGINEER2}, 404,
                 "SR-999999")
    # A team: any member accepts, and becomes the engineer.
    desk.ok(AGENT2, f"/service-requests/{ref}/dispatch", {"engineer": "team:FIELD"})
    desk.ok(ENGINEER2, f"/service-requests/{ref}/dispatch/accept")
    assert desk.get(AGENT, f"/service-requests/{ref}/field-job")["engineer"] == ENGINEER2


def test_accept_and_decline_by_the_dispatched_engineer_only(desk: Desk) -> None:
    ref = desk.open()
    on_site(desk, ref)
    desk.refused(ENGINEER2, f"/service-requests/{ref}/dispatch/decline", {"reason": "忙"}, 403,
                 "not to you")
    desk.refused(ENGINEER2, f"/service-requests/{ref}/dispatch/accept", {}, 403, "not to you")
    desk.refused(ENGINEER, f"/service-requests/{ref}/dispatch/decline", {"reason": "  "}, 400,
                 "why")
    desk.ok(ENGINEER, f"/service-requests/{ref}/dispatch/decline", {"reason": "在外地出差"})
    desk.refused(ENGINEER, f"/service-requests/{ref}/dispatch/accept", {}, 422, "declined")
    assert desk.stage(ref) == "declined"
    # Declined: dispatched again, to someone else, who accepts (once).
    desk.ok(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": ENGINEER2})
    desk.ok(ENGINEER2, f"/service-requests/{ref}/dispatch/accept")
    desk.refused(ENGINEER2, f"/service-requests/{ref}/dispatch/accept", {}, 422,
                 "cannot accept")
    desk.refused(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": ENGINEER}, 409,
                 "already dispatched")
    declined = [e for e in desk.timeline(ref) if e["kind"] == "dispatch_declined"]
    assert declined[0]["body"] == "在外地出差" and declined[0]["actor"] == ENGINEER
    # Never shown to the customer, in any form.
    seen = desk.timeline(ref, CUSTOMER)
    assert "在外地出差" not in str(seen) and ENGINEER not in str(seen)
    assert all(e["kind"] != "dispatch_declined" for e in seen)


def test_steps_out_of_order_are_refused(desk: Desk) -> None:
    ref = desk.open()
    job = f"/service-requests/{ref}"
    report = {"cause": "c", "actions": "a", "parts": [], "minutes": 10, "signed_by": "王"}
    desk.refused(ENGINEER, f"{job}/service-report", report, 422, "intake")
    on_site(desk, ref)
    desk.refused(ENGINEER, f"{job}/visit/start", {}, 422, "no accepted dispatch")
    desk.refused(ENGINEER, f"{job}/service-report", report, 422, "no accepted dispatch")
    desk.ok(ENGINEER, f"{job}/dispatch/accept")
    desk.refused(ENGINEER, f"{job}/service-report", report, 422, "after the visit has ended")
    desk.refused(ENGINEER, f"{job}/visit/end", {}, 422, "cannot end a visit")
    desk.refused(ENGINEER2, f"{job}/visit/start", {}, 403, "not with you")
    desk.refused(ENGINEER, f"{job}/unit/received", {}, 422, "not carry-in")
    desk.ok(ENGINEER, f"{job}/visit/start")
    desk.refused(ENGINEER, f"{job}/visit/start", {}, 422, "visiting")
    desk.refused(ENGINEER, f"{job}/service-report", report, 422, "after the visit has ended")
    desk.ok(ENGINEER, f"{job}/visit/end")
    desk.refused(ENGINEER, f"{job}/service-report", {**report, "minutes": 0}, 400, "minutes")
    desk.refused(ENGINEER, f"{job}/service-report", {**report, "cause": " "}, 400, "cause")
    desk.refused(ENGINEER, f"{job}/service-report", {**report, "signature": "data:image/png;"
                                                     "base64,aGVsbG8="}, 422, "PNG")
    desk.refused(ENGINEER, f"{job}/service-report", {**report, "signature": png(5000, 10)},
                 422, "pixels")
    desk.refused(ENGINEER, f"{job}/service-report", {**report, "signature": "%%%"}, 422,
                 "base64")
    desk.refused(ENGINEER2, f"{job}/service-report", report, 403, "not with you")
    desk.ok(ENGINEER, f"{job}/service-report", report, 201)
    desk.refused(ENGINEER, f"{job}/service-report", report, 422, "filed already")
    desk.refused(ENGINEER, f"{job}/second-visit", {"reason": ""}, 400, "second visit")
    desk.refused(ENGINEER, f"{job}/second-visit", {}, 400, "reason")
    desk.refused(ENGINEER2, f"{job}/second-visit", {"reason": "缺件"}, 403, "not to you")
    # Nothing of the refused steps was recorded.
    kinds = [e["kind"] for e in desk.timeline(ref)]
    assert kinds.count("service_report") == 1 and "second_visit" not in kinds


def test_an_unfinished_repair_gets_a_second_visit(desk: Desk) -> None:
    ref = desk.open()
    job = f"/service-requests/{ref}"
    on_site(desk, ref)
    desk.ok(ENGINEER, f"{job}/dispatch/accept")
    desk.ok(ENGINEER, f"{job}/visit/start")
    desk.ok(ENGINEER, f"{job}/visit/end")
    desk.ok(ENGINEER, f"{job}/service-report",
            {"cause": "主板故障", "actions": "已诊断，需订主板", "parts": [], "minutes": 40,
             "signed_by": "王工"}, 201)
    desk.ok(ENGINEER, f"{job}/second-visit", {"reason": "主板缺货，到货后再次上门"})
    state = desk.get(AGENT, f"{job}/field-job")
    assert (state["stage"], state["visit"], state["appointment_at"]) == ("accepted", 2, None)
    desk.ok(AGENT, f"{job}/appointment", {"appointment_at": "2026-12-10T14:00:00+08:00"})
    desk.ok(ENGINEER, f"{job}/visit/start")
    desk.ok(ENGINEER, f"{job}/visit/end", {"distance_km": 30})
    desk.ok(ENGINEER, f"{job}/service-report",
            {"cause": "主板故障", "actions": "更换主板", "parts": [], "minutes": 60,
             "signed_by": "王工"}, 201)
    reports = [e["data"] for e in desk.timeline(ref) if e["kind"] == "service_report"]
    assert [(r["visit"], r["minutes"], r["distance_km"]) for r in reports] == \
        [(1, 40, None), (2, 60, 30.0)]
    second = [e for e in desk.timeline(ref, CUSTOMER) if e["kind"] == "second_visit"]
    assert second[0]["data"] == {"visit": 2} and second[0]["body"] == ""


def test_carry_in_and_mail_in_units(desk: Desk) -> None:
    ref = desk.open()
    job = f"/service-requests/{ref}"
    desk.ok(AGENT, f"{job}/intake", {"symptom": "x", "warranty": "in", "mode": "mail_in"}, 201)
    desk.refused(AGENT, f"{job}/visit/start", {}, 422, "no accepted dispatch")
    desk.ok(AGENT, f"{job}/unit/received", {"tracking_number": "SF1234567890", "carrier": "顺丰"})
    desk.ok(AGENT, f"{job}/dispatch", {"engineer": ENGINEER})
    desk.ok(ENGINEER, f"{job}/dispatch/accept")
    assert desk.stage(ref) == "received"
    desk.refused(ENGINEER, f"{job}/visit/start", {}, 422, "not an on-site job")
    desk.refused(AGENT, f"{job}/unit/returned", {}, 422, "cannot return the unit")
    desk.ok(ENGINEER, f"{job}/unit/repaired")
    desk.ok(ENGINEER, f"{job}/service-report",
            {"cause": "电容老化", "actions": "更换电容", "parts": [], "minutes": 30,
             "signed_by": "维修中心"}, 201)
    desk.ok(AGENT, f"{job}/unit/returned", {"tracking_number": "SF0987654321", "carrier": "顺丰"})
    assert desk.stage(ref) == "returned"
    steps = [e["data"].get("step") for e in desk.timeline(ref, CUSTOMER) if e["kind"] == "unit"]
    assert steps == ["received", "repaired", "returned"]


def test_two_coordinators_dispatching_at_once_one_wins(desk: Desk) -> None:
    clients = {AGENT: desk.api(AGENT), AGENT2: desk.api(AGENT2)}
    targets = {AGENT: ENGINEER, AGENT2: ENGINEER2}
    for _ in range(3):
        ref = desk.open()
        desk.ok(AGENT, f"/service-requests/{ref}/intake",
                {"symptom": "x", "warranty": "in", "mode": "on_site"}, 201)
        start = threading.Barrier(2)
        answers: dict[str, Any] = {}

        def send(who: str, ref: str = ref, start: threading.Barrier = start,
                 answers: dict[str, Any] = answers) -> None:
            start.wait()
            answers[who] = clients[who].post(f"/api/v1/service-requests/{ref}/dispatch",
                                             json={"engineer": targets[who]})

        threads = [threading.Thread(target=send, args=(who,)) for who in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r.status_code for r in answers.values())
        assert statuses == [200, 409], [r.text for r in answers.values()]
        [loser] = [r for r in answers.values() if r.status_code == 409]
        assert "already dispatched" in loser.json()["error"]["message"]
        [winner] = [who for who, r in answers.items() if r.status_code == 200]
        assert desk.get(AGENT, f"/service-requests/{ref}/field-job")["engineer"] == \
            targets[winner]
        assert [e["kind"] for e in desk.timeline(ref)].count("dispatch") == 1


def test_a_stale_expected_version_is_a_conflict(desk: Desk) -> None:
    ref = desk.open()
    desk.ok(AGENT, f"/service-requests/{ref}/intake",
            {"symptom": "x", "warranty": "in", "mode": "on_site"}, 201)
    desk.refused(AGENT, f"/service-requests/{ref}/dispatch",
                 {"engineer": ENGINEER, "expected_version": 7}, 409, "changed since")
    desk.ok(AGENT, f"/service-requests/{ref}/dispatch",
            {"engineer": ENGINEER, "expected_version": 1})


def test_a_service_agreement_decides_the_warranty(desk: Desk) -> None:
    serial = "UPS-0002"  # its warranty ended in 2020
    desk.ok(AGENT, f"/products/{serial}/agreements",
            {"code": "SA-2026-01", "starts_on": "2026-01-01", "ends_on": "2099-12-31",
             "level": "gold"}, 201)
    desk.refused(AGENT, f"/products/{serial}/agreements",
                 {"code": "SA-2026-01", "starts_on": "2026-01-01", "ends_on": "2099-12-31"},
                 422, "already")
    desk.refused(AGENT, f"/products/{serial}/agreements",
                 {"code": "SA-X", "starts_on": "2026-02-01", "ends_on": "2026-01-01"},
                 422, "ends on or after")
    desk.refused(AGENT, "/products/NOPE-9/agreements",
                 {"code": "SA-Y", "starts_on": "2026-01-01", "ends_on": "2026-12-31"},
                 404, "NOPE-9")
    ref = desk.open(serial)
    assert desk.ok(AGENT, f"/service-requests/{ref}/intake",
                   {"symptom": "x", "warranty": "unknown", "mode": "on_site"},
                   201)["warranty"] == "in"
    intake = desk.timeline(ref)[1]["data"]
    assert intake["warranty_basis"] == "agreement SA-2026-01 until 2099-12-31"
    # An agreement that has not started yet covers nothing today.
    desk.ok(AGENT, "/products/UPS-0001/agreements",
            {"code": "SA-LATER", "starts_on": "2098-01-01", "ends_on": "2099-01-01"}, 201)
    later = desk.open("UPS-0001")
    assert desk.ok(AGENT, f"/service-requests/{later}/intake",
                   {"symptom": "x", "warranty": "unknown", "mode": "phone"},
                   201)["warranty"] == "in"  # its warranty end still covers it


def test_erasure_keeps_the_technical_facts_and_seals_the_person(desk: Desk) -> None:
    from domain.customers.commands import EraseCustomer

    ref = desk.open()
    desk.ok(AGENT, f"/service-requests/{ref}/intake",
            {"symptom": "李伟说：无法开机", "warranty": "in", "mode": "on_site"}, 201)
    desk.ok(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": ENGINEER})
    desk.ok(ENGINEER, f"/service-requests/{ref}/dispatch/decline", {"reason": "客户电话打不通"})
    desk.ok(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": ENGINEER})
    desk.ok(ENGINEER, f"/service-requests/{ref}/dispatch/accept")
    desk.ok(ENGINEER, f"/service-requests/{ref}/visit/start")
    desk.ok(ENGINEER, f"/service-requests/{ref}/visit/end")
    desk.ok(ENGINEER, f"/service-requests/{ref}/service-report",
            {"cause": "风扇损坏", "actions": "更换风扇", "parts": [], "minutes": 30,
             "signed_by": "李伟", "signature": png()}, 201)
    desk.timeline(ref)
    desk.app.handle(EraseCustomer("ACME", "PIPL request", actor=ADMIN))
    entries = {e["kind"]: e for e in desk.timeline(ref, ADMIN)}
    assert entries["intake"]["body"] == "[erased]"
    assert entries["dispatch_declined"]["body"] == "[erased]"
    report = entries["service_report"]
    assert report["data"]["signed_by"] == "[erased]"
    assert report["data"]["cause"] == "风扇损坏" and report["data"]["minutes"] == 30
    assert report["attachments"][0]["content_type"] == "image/png"
    assert report["attachments"][0]["sha256"] == "[erased]"
    assert desk.get(ADMIN, f"/service-requests/{ref}/field-job")["stage"] == "reported"
