"""SLA timers on both stores, with the injectable clock (policies.sla_timers)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.access import Principal
from domain.application import Ledgerdesk
from domain.business_time import BusinessCalendar
from domain.clock import ManualClock
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import Assign, ChangeStatus, Escalate, OpenRequest, QueueReply
from domain.sla.policy import Rule, SlaSettings
from domain.users.commands import AddUser
from ledgerdesk.config import Database, Settings
from ledgerdesk.persistence import event_store_env
from policies.sla_timers import SlaTimers
from projections import queries
from projections.registry import ReadModels, open_read_models

AGENT = "agent@desk.cn"
STAFF = Principal(AGENT, ("agent",), None)
H = timedelta(hours=1)


class Desk:
    def __init__(self, store: Database, tmp_path: Path, clock: ManualClock,
                 sla: SlaSettings | None = None) -> None:
        self.app = Ledgerdesk(env=event_store_env(store), clock=clock,
                              reply_channels=("email", "web"))
        settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs",
                            secret_key="k", sla=sla or SlaSettings())
        self.models: ReadModels = open_read_models(settings, self.app)
        self.timers = SlaTimers(self.app, self.models["inbox"], settings.sla)
        self.clock = clock

    def run(self) -> int:
        """One timer pass, then the view catches up (as the running desk would)."""
        recorded = self.timers.run_once()
        self.models.projector("inbox").catch_up()
        return recorded

    def row(self, reference: str) -> dict[str, Any]:
        self.models.projector("inbox").catch_up()
        [row] = self.models["inbox"].query("SELECT * FROM inbox WHERE reference = ?",
                                           (reference,))
        return row

    def events(self, reference: str) -> list[str]:
        return [type(e).__name__
                for e in self.app.events.get(self.app.service_request(reference).id)]

    def close(self) -> None:
        self.models.close()
        self.app.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def desk(store: Database, tmp_path: Path, clock: ManualClock) -> Iterator[Desk]:
    d = Desk(store, tmp_path, clock)
    d.app.handle(RegisterCustomer("ACME", "艾克美", actor="admin",
                                  identities=[("email", "li@acme.cn")]))
    d.app.handle(AddUser(AGENT, ["agent"], actor="admin"))
    yield d
    d.close()


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def open_request(desk: Desk, priority: str = "urgent", channel: str = "email") -> str:
    reference: str = desk.app.handle(OpenRequest("ACME", "support", "打印机卡纸", actor=AGENT,
                                                 channel=channel, priority=priority))
    return reference


def test_due_times_are_business_time(desk: Desk) -> None:
    reference = open_request(desk, "normal")
    row = desk.row(reference)
    opened = moment(row["opened_at"])
    calendar = BusinessCalendar()
    assert moment(row["sla_due_at"]) == calendar.add(opened, 8 * H)
    assert moment(row["response_due_at"]) == calendar.add(opened, 8 * H)
    assert moment(row["response_warn_at"]) == calendar.add(opened, 6.4 * H)
    assert moment(row["resolution_due_at"]) == calendar.add(opened, 40 * H)
    assert row["response_target"] == "first_response"


def test_a_warning_then_a_breach_each_fire_once(desk: Desk, store: Database,
                                                tmp_path: Path) -> None:
    reference = open_request(desk)
    row = desk.row(reference)
    desk.clock.current = moment(row["response_warn_at"]) - timedelta(seconds=1)
    assert desk.run() == 0
    desk.clock.current = moment(row["response_warn_at"])
    assert desk.timers.run_once() == 1
    assert desk.timers.run_once() == 0  # the view has not seen it yet: the command is a no-op
    assert desk.run() == 0
    assert desk.events(reference).count("SlaWarned") == 1
    assert queries.inbox(desk.models, STAFF, {"queue": "sla_at_risk"})["items"][0][
        "sla_warned"] is True

    # A second desk "in another process" on the same store: together they breach once.
    other = Desk(store, tmp_path / "other", desk.clock)
    try:
        desk.clock.current = moment(row["response_due_at"])
        assert desk.timers.run_once() + other.timers.run_once() == 1
        assert desk.run() + other.run() == 0
    finally:
        other.close()
    names = desk.events(reference)
    assert names.count("SlaBreached") == 1 and names.count("SlaWarned") == 1
    assert names[-1] == "Escalated"
    request = desk.app.service_request(reference)
    assert request.status == "escalated" and request.escalation_level == 1
    [item] = queries.inbox(desk.models, STAFF, {"queue": "sla_at_risk"})["items"]
    assert item["reference"] == reference and item["sla_breached"] is True
    assert desk.run() == 0
    desk.models.projector("timeline").catch_up()
    kinds = [e["kind"] for e in queries.service_request(desk.models, STAFF, reference)["timeline"]]
    assert kinds[-3:] == ["sla_warning", "sla_breach", "status"]


def test_an_answer_stops_the_response_clock(desk: Desk) -> None:
    reference = open_request(desk)
    desk.app.handle(QueueReply(reference, "请重启", actor=AGENT))
    row = desk.row(reference)
    assert row["response_due_at"] is None and row["sla_due_at"] is None
    desk.clock.current = moment(row["opened_at"]) + 2 * H
    assert desk.run() == 0
    assert "SlaBreached" not in desk.events(reference)


def test_nothing_fires_for_resolved_requests(desk: Desk) -> None:
    reference = open_request(desk, channel="phone")
    desk.app.handle(Escalate(reference, "难题", actor=AGENT, due_at=desk.clock.now() + H))
    desk.app.handle(ChangeStatus(reference, "resolved", actor=AGENT, reason="已修复"))
    desk.row(reference)
    desk.clock.current += timedelta(days=30)
    assert desk.run() == 0
    assert desk.events(reference)[-1] == "Resolved"


def test_the_handover_escalates_after_fifteen_minutes(desk: Desk) -> None:
    reference = open_request(desk, "low", channel="phone")
    taken = open_request(desk, "low", channel="phone")
    by_mail = open_request(desk, "low", channel="email")
    opened = moment(desk.row(reference)["opened_at"])
    assert moment(desk.row(reference)["handover_due_at"]) == opened + timedelta(minutes=15)
    assert desk.row(by_mail)["handover_due_at"] is None
    desk.app.handle(Assign(taken, AGENT, actor=AGENT))
    desk.row(taken)
    desk.clock.current = opened + timedelta(minutes=14)
    assert desk.run() == 0
    desk.clock.current = opened + timedelta(minutes=16)
    assert desk.run() == 1
    assert desk.run() == 0
    names = desk.events(reference)
    assert names[-2:] == ["HandoverMissed", "Escalated"]
    escalated: Any = list(desk.app.events.get(desk.app.service_request(reference).id))[-1]
    assert "hand-over" in escalated.reason
    assert "HandoverMissed" not in desk.events(taken)
    assert "HandoverMissed" not in desk.events(by_mail)


def test_a_passed_escalation_deadline_escalates_a_level_once(desk: Desk) -> None:
    reference = open_request(desk, "low")
    desk.app.handle(Escalate(reference, "疑难问题", actor=AGENT, due_at=desk.clock.now() + H))
    assert desk.row(reference)["escalation_due_at"] is not None
    desk.clock.current += H / 2
    assert desk.run() == 0
    desk.clock.current += H
    assert desk.run() == 1
    assert desk.run() == 0
    request = desk.app.service_request(reference)
    assert request.escalation_level == 2 and request.status == "escalated"
    assert desk.events(reference).count("EscalationOverdue") == 1
    assert desk.row(reference)["escalation_level"] == 2


def test_targets_follow_type_and_customer_classification(store: Database, tmp_path: Path,
                                                         clock: ManualClock) -> None:
    sla = SlaSettings(rules=(Rule(request_type="complaint", classification="key_account",
                                  first_response=H / 2),))
    desk = Desk(store, tmp_path, clock, sla)
    try:
        desk.app.handle(RegisterCustomer("BIG", "大客户", actor="admin",
                                         classification="key_account"))
        desk.app.handle(RegisterCustomer("SMALL", "小客户", actor="admin"))
        big = desk.app.handle(OpenRequest("BIG", "complaint", "太慢", actor=AGENT))
        small = desk.app.handle(OpenRequest("SMALL", "complaint", "太慢", actor=AGENT))
        calendar = BusinessCalendar()
        for reference, target in ((big, H / 2), (small, 8 * H)):
            row = desk.row(reference)
            assert moment(row["response_due_at"]) == calendar.add(moment(row["opened_at"]),
                                                                  target)
    finally:
        desk.close()
