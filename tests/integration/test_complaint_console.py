"""The console's complaint panel, reminder form and notifications page, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from domain.clock import ManualClock
from domain.requests.commands import Assign, OpenRequest, Urge
from domain.users.commands import AddUser, SetPassword
from ledgerdesk.config import Database
from tests.integration.test_complaints import AGENT, BOSS, BOSS2, SHANGHAI, Desk, setup_desk
from tests.support.desks import PASSWORD, csrf_of, sign_in


@pytest.fixture
def desk(store: Database, tmp_path: Path) -> Iterator[Desk]:
    clock = ManualClock(datetime.now(SHANGHAI))
    d = Desk(store, tmp_path / "one", clock)
    setup_desk(d.app)
    for email in (AGENT, BOSS, BOSS2):
        d.app.handle(SetPassword(email, PASSWORD, actor="setup"))
    yield d
    d.close()


def browser(desk: Desk, email: str) -> TestClient:
    client = TestClient(desk.asgi, headers={"Accept-Language": "en"})
    assert sign_in(client, email).status_code == 303
    return client


def submit(client: TestClient, reference: str, action: str, **fields: str) -> object:
    page = client.get(f"/console/requests/{reference}")
    return client.post(f"/console/requests/{reference}/{action}",
                       data={"csrf_token": csrf_of(page.text), **fields},
                       follow_redirects=False)


def test_the_complaint_panel_walks_the_whole_flow(desk: Desk) -> None:
    reference = str(desk.app.handle(OpenRequest("ACME", "complaint", "工程师态度恶劣",
                                                actor=AGENT, channel="email")))
    desk.project()
    agent, boss, boss2 = browser(desk, AGENT), browser(desk, BOSS), browser(desk, BOSS2)
    page = agent.get(f"/console/requests/{reference}").text
    assert 'data-complaint-state="registered"' in page and 'data-action="complaint"' in page

    # A refusal is shown beside the form, with nothing lost.
    refused = submit(agent, reference, "complaint", category="nonsense", target="staff",
                     level="critical")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "category must be one of" in refused.text  # type: ignore[attr-defined]

    assert submit(agent, reference, "complaint", category="attitude", target="staff",
                  level="critical").status_code == 303  # type: ignore[attr-defined]
    page = agent.get(f"/console/requests/{reference}").text
    assert 'data-complaint-state="classified"' in page and "Suggested completion" in page
    assert 'data-kind="complaint_classified"' in page
    submit(agent, reference, "complaint_handle")
    submit(boss, reference, "complaint_result", body="我们已向您致歉，并对相关人员进行了处理。")
    page = boss2.get(f"/console/requests/{reference}").text
    assert 'data-complaint-state="in_review"' in page and "Approve and send" in page
    assert "Approve and send" not in agent.get(f"/console/requests/{reference}").text
    assert submit(boss2, reference, "complaint_review",
                  decision="approve").status_code == 303  # type: ignore[attr-defined]
    page = agent.get(f"/console/requests/{reference}").text
    assert 'data-complaint-state="result_sent"' in page
    submit(agent, reference, "complaint_close")
    assert 'data-complaint-state="closed"' in agent.get(f"/console/requests/{reference}").text


def test_reminders_and_notifications_in_the_console(desk: Desk) -> None:
    reference = str(desk.app.handle(OpenRequest("ACME", "support", "打印机卡纸", actor=AGENT)))
    agent = browser(desk, AGENT)
    at = (datetime.now(SHANGHAI) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    assert submit(agent, reference, "reminder", at=at, note="回访客户",
                  zone="Asia/Shanghai").status_code == 303  # type: ignore[attr-defined]
    page = agent.get(f"/console/requests/{reference}").text
    assert "回访客户" in page and 'data-state="set"' in page
    refused = submit(agent, reference, "reminder", at="", note="x")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    [row] = desk.get(AGENT, f"/service-requests/{reference}/reminders").json()["items"]
    assert datetime.fromisoformat(row["at"]).astimezone(SHANGHAI).strftime(
        "%Y-%m-%dT%H:%M") == at  # read in the agent's zone
    submit(agent, reference, "reminder_cancel", reminder_id=row["id"])
    assert 'data-state="cancelled"' in agent.get(f"/console/requests/{reference}").text

    desk.app.handle(Assign(reference, AGENT, actor=AGENT))
    desk.app.handle(Urge(reference, "今天下班前回复客户", actor=BOSS))
    desk.project()
    inbox = agent.get("/console").text
    assert 'data-unread="1"' in inbox
    notes = agent.get("/console/notifications")
    assert notes.status_code == 200 and "今天下班前回复客户" in notes.text
    key = notes.text.split('data-notification="')[1].split('"')[0]
    answer = agent.post("/console/notifications/read", data={
        "csrf_token": csrf_of(notes.text), "id": key,
        "next": f"/console/requests/{reference}"}, follow_redirects=False)
    assert answer.headers["location"] == f"/console/requests/{reference}"
    assert 'data-unread="0"' in agent.get("/console").text
    # Customers and auditors have no notifications page.
    desk.app.handle(AddUser("audit@desk.cn", ["auditor"], actor="setup", password=PASSWORD))
    auditor = browser(desk, "audit@desk.cn")
    assert auditor.get("/console/notifications").status_code == 403
