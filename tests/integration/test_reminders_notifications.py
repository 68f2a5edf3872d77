"""Urge notifications and reminders (预约提示), issue 15 item 5, through the API
on SQLite and PostgreSQL: who is notified, the console's list and badge, mail
through a real SMTP relay (aiosmtpd), reminders that fire once with two
processes, cancelling, and every refusal."""

from __future__ import annotations

import asyncio
import email
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import policy
from pathlib import Path

import pytest

from channels.email.notify import notifier
from domain.clock import ManualClock
from domain.customers.commands import EraseCustomer
from domain.requests.commands import Assign, OpenRequest, Transfer
from domain.users.commands import AddUser, DeactivateUser
from ledgerdesk.config import Database
from policies.notifications import NotificationMailer
from tests.integration.test_complaints import (
    AGENT,
    BOSS,
    QUALITY,
    SHANGHAI,
    Desk,
    error,
    kinds,
    setup_desk,
)
from tests.support.mailservers import RecordingSMTPServer
from tests.support.timers import run_at_once

H = timedelta(hours=1)
COLLEAGUE = "colleague@desk.cn"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI))


@pytest.fixture
def desk(store: Database, tmp_path: Path, clock: ManualClock) -> Iterator[Desk]:
    d = Desk(store, tmp_path / "one", clock)
    setup_desk(d.app)
    d.app.handle(AddUser(COLLEAGUE, ["agent"], actor="setup"))
    yield d
    d.close()


def open_request(desk: Desk) -> str:
    return str(desk.app.handle(OpenRequest("ACME", "support", "打印机卡纸", actor=AGENT)))


def notifications(desk: Desk, email_: str) -> dict[str, object]:
    answer = desk.get(email_, "/notifications")
    assert answer.status_code == 200, answer.text
    found: dict[str, object] = answer.json()
    return found


def test_an_urge_notifies_the_assignee_or_the_team(desk: Desk) -> None:
    held = open_request(desk)
    desk.app.handle(Assign(held, COLLEAGUE, actor=AGENT))
    assert desk.post(BOSS, f"/service-requests/{held}/urge", {"message": "客户第三次来电"}
                     ).status_code == 200
    queued = open_request(desk)
    desk.app.handle(Transfer(queued, "team:quality", "质量问题", actor=AGENT))
    desk.post(BOSS, f"/service-requests/{queued}/urge", {"message": "今天必须回复"})
    desk.project()
    desk.project()  # a replay makes nothing twice

    mine = notifications(desk, COLLEAGUE)
    assert mine["unread"] == 1
    [item] = mine["items"]  # type: ignore[misc]
    assert item["kind"] == "urged" and item["reference"] == held
    assert item["body"] == "客户第三次来电" and item["sender"] == BOSS
    team = notifications(desk, QUALITY)
    assert [i["reference"] for i in team["items"]] == [queued]  # type: ignore[attr-defined]
    assert notifications(desk, AGENT)["items"] == []

    # Read: mine only; somebody else's looks like nobody's.
    error(desk.post(AGENT, f"/notifications/{item['id']}/read"), 404)
    error(desk.post(AGENT, "/notifications/not-an-id/read"), 404)
    assert desk.post(COLLEAGUE, f"/notifications/{item['id']}/read").status_code == 200
    assert desk.post(COLLEAGUE, f"/notifications/{item['id']}/read").status_code == 200
    mine = notifications(desk, COLLEAGUE)
    assert mine["unread"] == 0
    assert mine["items"][0]["read_at"] is not None  # type: ignore[index]
    error(desk.get(COLLEAGUE, "/notifications?limit=0"), 400)
    assert desk.get(COLLEAGUE, "/notifications?unread=true").json()["items"] == []


def test_notifications_are_mailed_through_the_relay_once(
        desk: Desk, smtp_server: RecordingSMTPServer, clock: ManualClock) -> None:
    send_mail = notifier({"host": smtp_server.host, "port": str(smtp_server.port)},
                         "支持中心 <support@desk.cn>")
    assert send_mail is not None
    mailer = NotificationMailer(desk.app, desk.models["notifications"], send_mail,
                                "https://desk.example.cn")
    reference = open_request(desk)
    desk.app.handle(Assign(reference, COLLEAGUE, actor=AGENT))
    desk.post(BOSS, f"/service-requests/{reference}/urge", {"message": "请尽快上门"})
    desk.project()
    clock.current = datetime.now(SHANGHAI)  # the event's own time, for the mail window
    assert asyncio.run(mailer.run_once()) == 1
    desk.project()
    assert asyncio.run(mailer.run_once()) == 0  # mailed: not again
    [message] = smtp_server.wait_for(1)
    assert message.rcpt_tos == (COLLEAGUE,)
    mail = email.message_from_bytes(message.data, policy=policy.default)
    assert mail["Subject"] == f"[{reference}] 催办 / Urged"
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_content()  # type: ignore[attr-defined]
    assert "请尽快上门" in text
    assert f"https://desk.example.cn/console/requests/{reference}" in text
    [item] = notifications(desk, COLLEAGUE)["items"]  # type: ignore[misc]
    assert item["mail"] == "mailed"

    # A relay that refuses: recorded, tried again later, nothing lost.
    smtp_server.reject_with = "451 4.3.0 try later"
    desk.post(BOSS, f"/service-requests/{reference}/urge", {"message": "再次催办"})
    desk.project()
    assert asyncio.run(mailer.run_once()) == 0
    desk.project()
    assert asyncio.run(mailer.run_once()) == 0  # not due again yet
    smtp_server.reject_with = None
    clock.current += timedelta(minutes=1)
    assert asyncio.run(mailer.run_once()) == 1
    assert len(smtp_server.wait_for(2)) == 2


def test_a_reminder_fires_once_with_two_processes_and_notifies(
        desk: Desk, store: Database, tmp_path: Path, clock: ManualClock) -> None:
    reference = open_request(desk)
    at = clock.now() + 2 * H
    answer = desk.post(AGENT, f"/service-requests/{reference}/reminders",
                       {"at": at.isoformat(), "for": COLLEAGUE, "note": "回访客户，确认打印正常"})
    assert answer.status_code == 201, answer.text
    reminder_id = answer.json()["id"]
    mine = desk.post(AGENT, f"/service-requests/{reference}/reminders",
                     {"at": (at + H).isoformat(), "note": "自己也看一眼"}).json()["id"]
    listed = desk.get(AGENT, f"/service-requests/{reference}/reminders").json()["items"]
    assert [(r["id"], r["for_user"], r["state"]) for r in listed] == [
        (reminder_id, COLLEAGUE, "set"), (mine, AGENT, "set")]
    assert datetime.fromisoformat(listed[0]["at"]) == at

    other = Desk(store, tmp_path / "two", clock)
    try:
        other.project()
        clock.current = at - timedelta(seconds=1)
        assert desk.reminder_timers.run_once() + other.reminder_timers.run_once() == 0
        clock.current = at
        assert sum(run_at_once(desk.reminder_timers, other.reminder_timers)) == 1
        desk.project()
        other.project()
        assert desk.reminder_timers.run_once() + other.reminder_timers.run_once() == 0
    finally:
        other.close()
    assert kinds(desk, reference).count("reminder_fired") == 1
    assert [i["kind"] for i in notifications(desk, COLLEAGUE)["items"]] == [  # type: ignore
        "reminder"]
    assert "回访客户" in notifications(desk, COLLEAGUE)["items"][0]["body"]  # type: ignore
    assert notifications(desk, AGENT)["items"] == []  # theirs is not due yet
    states = {r["id"]: r["state"] for r in
              desk.get(AGENT, f"/service-requests/{reference}/reminders").json()["items"]}
    assert states == {reminder_id: "fired", mine: "set"}


def test_cancelling_and_every_refusal(desk: Desk, clock: ManualClock) -> None:
    reference = open_request(desk)
    base = f"/service-requests/{reference}/reminders"
    soon = (clock.now() + H).isoformat()
    reminder_id = desk.post(AGENT, base, {"at": soon, "for": COLLEAGUE, "note": "回电"}
                            ).json()["id"]
    error(desk.post(QUALITY, f"{base}/{reminder_id}/cancel"), 403)
    assert desk.post(COLLEAGUE, f"{base}/{reminder_id}/cancel").status_code == 200
    other_id = desk.post(AGENT, base, {"at": soon, "note": "回电"}).json()["id"]
    assert desk.post(BOSS, f"{base}/{other_id}/cancel").status_code == 200  # a manager may
    assert "pending" in error(desk.post(AGENT, f"{base}/{reminder_id}/cancel"), 422)
    clock.current += 2 * H
    assert desk.reminder_timers.run_once() == 0  # cancelled: never fires
    assert kinds(desk, reference)[-4:] == ["reminder_set", "reminder_cancelled", "reminder_set",
                                           "reminder_cancelled"]

    past = (clock.now() - H).isoformat()
    assert "to come" in error(desk.post(AGENT, base, {"at": past, "note": "x"}), 422)
    error(desk.post(AGENT, base, {"at": "tomorrow", "note": "x"}), 400)
    error(desk.post(AGENT, base, {"at": "2026-12-09T09:00:00", "note": "x"}), 400)  # no zone
    later = (clock.now() + H).isoformat()
    error(desk.post(AGENT, base, {"at": later, "note": "  "}), 400)
    error(desk.post(AGENT, base, {"at": later, "note": "x", "for": "nobody@desk.cn"}), 404)
    desk.app.handle(AddUser("li@acme.cn", ["customer"], actor="setup", customer_code="ACME"))
    assert "staff" in error(desk.post(AGENT, base, {"at": later, "note": "x",
                                                    "for": "li@acme.cn"}), 422)
    desk.app.handle(DeactivateUser(COLLEAGUE, actor="setup"))
    error(desk.post(AGENT, base, {"at": later, "note": "x", "for": COLLEAGUE}), 422)
    error(desk.post(AGENT, "/service-requests/SR-999999/reminders",
                    {"at": later, "note": "x"}), 404)
    error(desk.post(AGENT, f"{base}/00000000-0000-0000-0000-000000000000/cancel"), 404)
    other = open_request(desk)
    error(desk.post(AGENT, f"/service-requests/{other}/reminders/{reminder_id}/cancel"), 404)
    error(desk.post("li@acme.cn", base, {"at": later, "note": "x"}), 403)
    # Nothing refused was recorded.
    assert {r["id"] for r in desk.get(AGENT, f"{base}").json()["items"]} == {reminder_id,
                                                                            other_id}


def test_erasing_the_customer_erases_their_words_in_reminders_and_notifications(
        desk: Desk, clock: ManualClock) -> None:
    reference = open_request(desk)
    desk.app.handle(Assign(reference, COLLEAGUE, actor=AGENT))
    desk.post(BOSS, f"/service-requests/{reference}/urge", {"message": "李伟 13800000001 催了"})
    desk.post(AGENT, f"/service-requests/{reference}/reminders",
              {"at": (clock.now() + H).isoformat(), "note": "回电 13800000001"})
    desk.project()
    desk.app.handle(EraseCustomer("ACME", "GDPR request", actor="root@desk.cn"))
    desk.project()
    [note] = desk.get(AGENT, f"/service-requests/{reference}/reminders").json()["items"]
    assert note["note"] == "[erased]"
    [item] = notifications(desk, COLLEAGUE)["items"]  # type: ignore[misc]
    assert item["body"] == "[erased]" and item["sender"] == BOSS
    # A rebuild from the log gives the same rows.
    for name in ("reminders", "notifications"):
        desk.models.projector(name).rebuild()
    assert desk.get(AGENT, f"/service-requests/{reference}/reminders").json()["items"][0][
        "note"] == "[erased]"
    assert notifications(desk, COLLEAGUE)["items"][0]["body"] == "[erased]"  # type: ignore
