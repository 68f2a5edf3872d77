"""Complaints (投诉), issue 15 item 6, end to end through the API on SQLite and
PostgreSQL: the happy path, the leader review, every refused step, the
suggested completion time in business time, and the deadline timer firing once
with two processes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.business_time import BusinessCalendar
from domain.clock import ManualClock
from domain.complaints.policy import ComplaintSettings
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import OpenRequest, RateSatisfaction
from domain.teams.commands import AddTeamMember, CreateTeam
from domain.users.commands import AddUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from ledgerdesk.persistence import event_store_env
from policies.complaints import ComplaintIntake, ComplaintTimers
from policies.notifications import NotificationPolicy
from policies.reminder_timers import ReminderTimers
from projections.registry import ReadModels, open_read_models, open_views
from tests.support.timers import run_at_once

AGENT, QUALITY, BOSS, BOSS2, ADMIN = ("agent@desk.cn", "q@desk.cn", "boss@desk.cn",
                                      "boss2@desk.cn", "root@desk.cn")
SHANGHAI = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)


class Desk:
    """One process's worth of the desk: the write side with its clock, the views,
    the policies and the API."""

    def __init__(self, store: Database, tmp_path: Path, clock: ManualClock) -> None:
        self.app = Ledgerdesk(env=event_store_env(store), clock=clock,
                              reply_channels=("email", "web"))
        self.clock = clock
        settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                            secret_key="k")
        self.models: ReadModels = open_read_models(settings, self.app)
        self.policies = open_views(settings, self.app, [ComplaintIntake(self.app),
                                                        NotificationPolicy(self.app)])
        self.complaint_timers = ComplaintTimers(self.app, self.models["complaints"])
        self.reminder_timers = ReminderTimers(self.app, self.models["reminders"])
        self.asgi = create_app(self.app, self.models, secret_key="s")
        self._clients: dict[str, TestClient] = {}

    def project(self) -> None:
        for _ in range(2):  # policies' commands, then the views again
            for projector in (*self.policies.projectors, *self.models.projectors):
                projector.catch_up()

    def api(self, email: str) -> TestClient:
        if email not in self._clients:
            token = self.app.handle(IssueToken(email, actor="setup"))
            self._clients[email] = TestClient(self.asgi,
                                              headers={"Authorization": f"Bearer {token}"})
        return self._clients[email]

    def post(self, email: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.api(email).post(f"/api/v1{path}", json=body or {})

    def get(self, email: str, path: str) -> Any:
        self.project()
        return self.api(email).get(f"/api/v1{path}")

    def close(self) -> None:
        self.policies.close()
        self.models.close()
        self.app.close()


def setup_desk(app: Ledgerdesk) -> None:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup",
                                identities=[("email", "li@acme.cn")]))
    for email, roles in ((AGENT, ["agent"]), (QUALITY, ["agent"]), (BOSS, ["manager"]),
                         (BOSS2, ["manager"]), (ADMIN, ["admin"])):
        app.handle(AddUser(email, roles, actor="setup"))
    for code, name in (("quality", "质量部"), ("hotline", "热线"), ("complaints", "投诉组")):
        app.handle(CreateTeam(code, name, actor=ADMIN))
    app.handle(AddTeamMember("quality", QUALITY, actor=ADMIN))


@pytest.fixture
def clock() -> ManualClock:
    # A Tuesday, 10:00 in Shanghai: well inside business hours.
    return ManualClock(datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI))


@pytest.fixture
def desk(store: Database, tmp_path: Path, clock: ManualClock) -> Iterator[Desk]:
    d = Desk(store, tmp_path / "one", clock)
    setup_desk(d.app)
    yield d
    d.close()


def open_complaint(desk: Desk, subject: str = "维修工程师迟到三小时") -> str:
    answer = desk.post(AGENT, "/service-requests", {
        "customer_code": "ACME", "type": "complaint", "subject": subject,
        "description": "客户投诉上门服务延误", "channel": "email"})
    assert answer.status_code == 201, answer.text
    desk.project()  # the intake policy registers the complaint
    return str(answer.json()["reference"])


def kinds(desk: Desk, reference: str) -> list[str]:
    timeline = desk.get(AGENT, f"/service-requests/{reference}").json()["timeline"]
    return [entry["kind"] for entry in timeline]


def error(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    return str(answer.json()["error"]["message"])


def test_a_complaint_from_registration_to_closing(desk: Desk) -> None:
    reference = open_complaint(desk)
    complaint = desk.get(AGENT, f"/service-requests/{reference}/complaint").json()
    assert complaint["state"] == "registered"  # the intake policy made the record

    answer = desk.post(AGENT, f"/service-requests/{reference}/complaint",
                       {"category": "quality", "target": "product", "level": "major"})
    assert answer.json() == {"state": "classified"}
    complaint = desk.get(AGENT, f"/service-requests/{reference}/complaint").json()
    registered = datetime.fromisoformat(complaint["registered_at"])
    assert complaint["department"] == "quality"
    assert datetime.fromisoformat(complaint["due_at"]) == \
        BusinessCalendar().add(registered, 16 * H)
    assert complaint["review_required"] is False
    request = desk.get(AGENT, f"/service-requests/{reference}").json()
    assert request["team"] == "quality" and request["assignee"] is None

    assert desk.post(QUALITY, f"/service-requests/{reference}/complaint/handle").json() == \
        {"state": "in_handling"}
    body = "经查，工程师因交通延误迟到，已对其批评教育，并为您免除本次上门费。"
    assert desk.post(QUALITY, f"/service-requests/{reference}/complaint/result",
                     {"body": body}).json() == {"state": "result_sent"}
    request = desk.get(AGENT, f"/service-requests/{reference}").json()
    assert request["status"] == "resolved"
    replies = [e for e in request["timeline"] if e["kind"] == "reply"]
    assert replies[-1]["body"] == body and replies[-1]["channel"] == "email"

    # Satisfaction is the request's own CSAT (the survey's link or the portal's
    # form records it), shown on the complaint.
    customer = "li@acme.cn"
    desk.app.handle(AddUser(customer, ["customer_admin"], actor="setup", customer_code="ACME"))
    desk.app.handle(RateSatisfaction(reference, 4, "", actor=f"web:{customer}"))
    assert desk.post(AGENT, f"/service-requests/{reference}/complaint/close").json() == \
        {"state": "closed"}
    complaint = desk.get(AGENT, f"/service-requests/{reference}/complaint").json()
    assert complaint["state"] == "closed" and complaint["satisfaction"] == 4
    assert desk.get(AGENT, f"/service-requests/{reference}").json()["status"] == "closed"
    steps = [k for k in kinds(desk, reference) if k.startswith("complaint_")]
    assert steps == ["complaint_registered", "complaint_classified", "complaint_handling",
                     "complaint_result_sent", "complaint_closed"]
    # The customer sees the answer, not our handling.
    seen = desk.get(customer, f"/service-requests/{reference}").json()["timeline"]
    assert not [e for e in seen if e["kind"].startswith("complaint_")]
    assert body in [e["body"] for e in seen if e["kind"] == "reply"]


def test_a_result_that_needs_review_waits_for_another_manager(desk: Desk) -> None:
    reference = open_complaint(desk)
    base = f"/service-requests/{reference}/complaint"
    desk.post(AGENT, base, {"category": "attitude", "target": "staff", "level": "critical"})
    assert desk.get(AGENT, base).json()["review_required"] is True
    desk.post(AGENT, f"{base}/handle")
    assert desk.post(BOSS, f"{base}/result", {"body": "初稿"}).json() == {"state": "in_review"}
    assert desk.get(AGENT, base).json()["proposed"] == "初稿"
    # Nothing went to the customer yet.
    assert "reply" not in kinds(desk, reference)

    assert "another manager" in error(desk.post(BOSS, f"{base}/review", {"approved": True}), 422)
    error(desk.post(AGENT, f"{base}/review", {"approved": True}), 403)
    assert "comment" in error(desk.post(BOSS2, f"{base}/review", {"approved": False}), 422)
    assert desk.post(BOSS2, f"{base}/review", {"approved": False, "comment": "请写明补偿"}
                     ).json() == {"state": "in_handling"}
    assert desk.post(BOSS, f"{base}/result", {"body": "致歉并补偿一次免费保养"}).json() == \
        {"state": "in_review"}
    assert desk.post(BOSS2, f"{base}/review", {"approved": True}).json() == \
        {"state": "result_sent"}
    request = desk.get(AGENT, f"/service-requests/{reference}").json()
    assert [e["body"] for e in request["timeline"] if e["kind"] == "reply"] == \
        ["致歉并补偿一次免费保养"]
    assert request["team"] == "complaints"
    assert [k for k in kinds(desk, reference) if k.startswith("complaint_")] == [
        "complaint_registered", "complaint_classified", "complaint_handling",
        "complaint_in_review", "complaint_reviewed", "complaint_in_review",
        "complaint_reviewed", "complaint_result_sent"]


def test_every_step_out_of_order_is_refused_and_bad_input_named(desk: Desk) -> None:
    reference = open_complaint(desk)
    base = f"/service-requests/{reference}/complaint"
    assert "in handling" in error(desk.post(AGENT, f"{base}/result", {"body": "x"}), 422)
    assert "classified" in error(desk.post(AGENT, f"{base}/handle"), 422)
    assert "in review" in error(desk.post(BOSS, f"{base}/review", {"approved": True}), 422)
    assert "answered" in error(desk.post(AGENT, f"{base}/close"), 422)

    answer = desk.post(AGENT, base, {"category": "nonsense", "target": "product",
                                     "level": "major"})
    assert "category" in answer.json()["error"]["fields"]
    error(answer, 400)
    error(desk.post(AGENT, base, {"category": "quality", "target": "x", "level": "major"}), 400)
    error(desk.post(AGENT, base, {"category": "quality", "target": "product",
                                  "level": "huge"}), 400)
    error(desk.post(AGENT, base, {"category": "quality", "target": "product", "level": "major",
                                  "colour": "red"}), 400)
    error(desk.post(AGENT, base, {"category": "quality", "target": "product", "level": "major",
                                  "review": "yes"}), 400)
    assert desk.get(AGENT, base).json()["state"] == "registered"  # nothing was recorded

    desk.post(AGENT, base, {"category": "delay", "target": "service", "level": "minor"})
    desk.post(AGENT, f"{base}/handle")
    error(desk.post(AGENT, f"{base}/handle"), 422)
    error(desk.post(AGENT, f"{base}/result", {"body": "   "}), 400)
    desk.post(AGENT, f"{base}/result", {"body": "已处理"})
    assert "answered" in error(desk.post(AGENT, base, {"category": "delay", "target": "service",
                                                       "level": "major"}), 422)
    error(desk.post(AGENT, f"{base}/result", {"body": "again"}), 422)
    desk.post(AGENT, f"{base}/close")
    error(desk.post(AGENT, f"{base}/close"), 422)

    # Not a complaint; an unknown request; a department that does not exist.
    support = str(desk.app.handle(OpenRequest("ACME", "support", "卡纸", actor=AGENT)))
    assert "not a complaint" in error(desk.post(AGENT, f"/service-requests/{support}/complaint",
                                                {"category": "quality", "target": "product",
                                                 "level": "minor"}), 422)
    error(desk.get(AGENT, f"/service-requests/{support}/complaint"), 404)
    error(desk.post(AGENT, "/service-requests/SR-999999/complaint",
                    {"category": "quality", "target": "product", "level": "minor"}), 404)
    desk.app.store.settings["complaints"] = ComplaintSettings(
        departments={"product": "nowhere", "service": "hotline", "staff": "complaints"})
    other = open_complaint(desk)
    assert "nowhere" in error(desk.post(AGENT, f"/service-requests/{other}/complaint",
                                        {"category": "quality", "target": "product",
                                         "level": "minor"}), 422)
    # Auditors read but never act.
    desk.app.handle(AddUser("audit@desk.cn", ["auditor"], actor="setup"))
    error(desk.post("audit@desk.cn", f"/service-requests/{other}/complaint/handle"), 403)
    assert desk.get("audit@desk.cn", f"/service-requests/{other}/complaint").status_code == 200


def test_the_suggested_time_is_in_business_time(desk: Desk, clock: ManualClock) -> None:
    """Opened on Friday 17:30 (hours 9–18 Mon–Fri), delay × major = 8 business
    hours: half an hour on Friday, then Monday is a holiday, so Tuesday 16:30."""
    holiday = datetime(2026, 12, 7).date()
    desk.app.store.settings["complaints"] = ComplaintSettings(
        calendar=BusinessCalendar(holidays=frozenset({holiday})))
    clock.current = datetime(2026, 12, 4, 17, 30, tzinfo=SHANGHAI)  # a Friday
    reference = open_complaint(desk)
    clock.current += 3 * 24 * H  # classified on a later day: the time runs from registration
    desk.post(AGENT, f"/service-requests/{reference}/complaint",
              {"category": "delay", "target": "service", "level": "major"})
    complaint = desk.get(AGENT, f"/service-requests/{reference}/complaint").json()
    assert datetime.fromisoformat(complaint["due_at"]) == \
        datetime(2026, 12, 8, 16, 30, tzinfo=SHANGHAI)


def test_a_missed_suggested_time_escalates_once_with_two_processes(
        desk: Desk, store: Database, tmp_path: Path, clock: ManualClock) -> None:
    reference = open_complaint(desk)
    desk.post(AGENT, f"/service-requests/{reference}/complaint",
              {"category": "delay", "target": "service", "level": "critical"})
    desk.project()
    due = datetime.fromisoformat(
        desk.get(AGENT, f"/service-requests/{reference}/complaint").json()["due_at"])
    other = Desk(store, tmp_path / "two", clock)
    try:
        other.project()
        clock.current = due - timedelta(seconds=1)
        assert desk.complaint_timers.run_once() + other.complaint_timers.run_once() == 0
        clock.current = due
        assert sum(run_at_once(desk.complaint_timers, other.complaint_timers)) == 1
        assert desk.complaint_timers.run_once() + other.complaint_timers.run_once() == 0
        desk.project()
        other.project()
        assert desk.complaint_timers.run_once() + other.complaint_timers.run_once() == 0
        request = desk.get(AGENT, f"/service-requests/{reference}").json()
        assert request["status"] == "escalated"
        assert [k for k in kinds(desk, reference)].count("complaint_overdue") == 1
        assert desk.get(AGENT, f"/service-requests/{reference}/complaint").json()["overdue"]
        # Answered complaints are not chased.
        clock.current += 100 * H
        assert desk.complaint_timers.run_once() == 0
    finally:
        other.close()
