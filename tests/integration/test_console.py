"""The agent console through Starlette's test client, on SQLite and PostgreSQL:
who reaches which page, CSRF, sign-in throttling, escaping, the forms'
refusals (a concurrent change, an undeliverable reply) and languages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import InboundMessage, RecordInbound
from domain.users.commands import AddUser, DeactivateUser
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.access_log import AccessFilter, open_access_log
from projections.registry import ReadModels, open_read_models
from tests.support.desks import PASSWORD, csrf_of, sign_in

AGENT, OTHER, ADMIN, AUDITOR, CUSTOMER = ("agent@desk.cn", "other@desk.cn", "admin@desk.cn",
                                          "audit@desk.cn", "li@acme.cn")
SCRIPT = "<script>alert('x')</script>"


class Desk:
    def __init__(self, app: Ledgerdesk, models: ReadModels, client: TestClient,
                 reference: str) -> None:
        self.app, self.models, self.client, self.reference = app, models, client, reference

    def project(self) -> None:
        for projector in self.models.projectors:
            projector.catch_up()

    def browser(self) -> TestClient:
        """Another browser: cookies of its own."""
        return TestClient(self.client.app)


@pytest.fixture
def desk(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[Desk]:
    for email, role in ((AGENT, "agent"), (OTHER, "agent"), (ADMIN, "admin"),
                        (AUDITOR, "auditor")):
        app.handle(AddUser(email, [role], actor="setup", name=email.split("@")[0],
                           password=PASSWORD))
    app.handle(RegisterCustomer("ACME", "艾克美 " + SCRIPT, actor="setup",
                                identities=[("email", "zhang@acme.cn")]))
    app.handle(AddUser(CUSTOMER, ["customer"], actor="setup", customer_code="ACME",
                       password=PASSWORD))
    recorded = app.handle(RecordInbound(InboundMessage(
        "email", "<m1@acme.cn>", "zhang@acme.cn", "打印机卡纸了 " + SCRIPT,
        subject="卡纸 " + SCRIPT)))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    log = open_access_log(tmp_path, models.datastore)
    client = TestClient(create_app(app, models, access_log=log, secret_key="test-secret"))
    d = Desk(app, models, client, recorded.reference)
    d.project()
    yield d
    log.close()
    models.close()


def test_each_role_is_sent_home_and_kept_out_of_what_is_not_theirs(desk: Desk) -> None:
    signed_out = desk.browser()
    assert signed_out.get("/", follow_redirects=False).headers["location"] == "/login"
    answer = signed_out.get("/console", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")

    homes = {AGENT: "/console", ADMIN: "/console", AUDITOR: "/console/audit",
             CUSTOMER: "/portal"}
    for email, home in homes.items():
        browser = desk.browser()
        assert sign_in(browser, email).headers["location"] == home
        assert browser.get("/", follow_redirects=False).headers["location"] == home

    customer = desk.browser()
    sign_in(customer, CUSTOMER)
    for path in ("/console", f"/console/requests/{desk.reference}", "/console/customers",
                 "/console/customers/ACME", "/console/admin/users"):
        assert customer.get(path).status_code == 403, path

    auditor = desk.browser()
    sign_in(auditor, AUDITOR)
    assert auditor.get("/console").status_code == 403
    page = auditor.get("/console/customers/ACME")
    assert page.status_code == 200
    assert 'method="post" action="/console/customers' not in page.text  # no write control
    token = csrf_of(page.text)
    refused = auditor.post(f"/console/requests/{desk.reference}/note",
                           data={"body": "x", "csrf_token": token})
    assert refused.status_code == 403


def test_a_form_without_the_sessions_csrf_token_changes_nothing(desk: Desk) -> None:
    agent = desk.browser()
    sign_in(agent, AGENT)
    before = desk.app.service_request(desk.reference).version
    for data in ({"body": "forged"}, {"body": "forged", "csrf_token": "not-the-token"}):
        answer = agent.post(f"/console/requests/{desk.reference}/note", data=data)
        assert answer.status_code == 403
    assert desk.app.service_request(desk.reference).version == before
    # and sign-in itself needs the token too
    assert desk.browser().post("/login", data={"email": AGENT, "password": PASSWORD}
                               ).status_code == 403


def test_sign_in_is_throttled_per_account_after_repeated_failures(desk: Desk) -> None:
    browser = desk.browser()
    for _ in range(5):
        assert sign_in(browser, AGENT, "wrong password").status_code == 400
    blocked = sign_in(browser, AGENT)  # the right password, too late
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text or "登录失败次数过多" in blocked.text
    # another account from the same address is not locked out
    assert sign_in(desk.browser(), OTHER).status_code == 303


def test_what_customers_wrote_is_shown_as_text_never_run(desk: Desk) -> None:
    agent = desk.browser()
    sign_in(agent, AGENT)
    for path in ("/console", f"/console/requests/{desk.reference}", "/console/customers",
                 "/console/customers/ACME", "/console?q=" + "卡纸"):
        page = agent.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text, path
        assert "&lt;script&gt;alert" in page.text, path
    # a message that echoes what was typed (an unknown code in the URL) is text too
    unknown = agent.get("/console/customers/%3Cscript%3Ealert(2)%3C%2Fscript%3E")
    assert unknown.status_code == 404 and "<script>alert(2)" not in unknown.text
    headers = agent.get("/console").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_inbox_rows_and_the_request_page_carry_the_contracts_names(desk: Desk) -> None:
    agent = desk.browser()
    sign_in(agent, AGENT, lang="en")
    inbox = agent.get("/console?lang=en").text
    assert f'data-reference="{desk.reference}"' in inbox
    page = agent.get(f"/console/requests/{desk.reference}").text
    for action in ("reply", "note", "assign", "status"):
        assert f'data-action="{action}"' in page
    assert 'data-kind="message"' in page and "打印机卡纸了" in page
    assert 'name="agent"' in page and 'name="status"' in page and 'name="body"' in page
    assert agent.get("/console?q=nothing-like-this").text.count("data-reference=") == 0
    assert desk.reference in agent.get("/console?q=打印机").text  # message text is searched


def test_a_change_made_meanwhile_is_reported_and_the_text_kept(desk: Desk) -> None:
    first, second = desk.browser(), desk.browser()
    sign_in(first, AGENT)
    sign_in(second, OTHER)
    stale = second.get(f"/console/requests/{desk.reference}").text
    version = re.search(r'name="expected_version" value="(\d+)"', stale)
    assert version
    page = first.get(f"/console/requests/{desk.reference}").text
    changed = first.post(f"/console/requests/{desk.reference}/status", data={
        "status": "open", "csrf_token": csrf_of(page),
        "expected_version": re.search(r'name="expected_version" value="(\d+)"', page).group(1),
    }, follow_redirects=False)
    assert changed.status_code == 303
    desk.project()
    typed = "我已经联系了客户，明天上门。"
    conflict = second.post(f"/console/requests/{desk.reference}/note", data={
        "body": typed, "csrf_token": csrf_of(stale), "expected_version": version.group(1)})
    assert conflict.status_code == 409
    assert "changed while you were typing" in conflict.text or "已被他人修改" in conflict.text
    assert typed in conflict.text  # kept in the textarea
    assert not any(e.get("body") == typed for e in _timeline(desk))
    again = second.post(f"/console/requests/{desk.reference}/note", data={
        "body": typed, "csrf_token": csrf_of(conflict.text),
        "expected_version": re.search(r'name="expected_version" value="(\d+)"',
                                      conflict.text).group(1)}, follow_redirects=False)
    assert again.status_code == 303
    desk.project()
    assert any(e.get("body") == typed for e in _timeline(desk))


def _timeline(desk: Desk) -> list[dict[str, Any]]:
    return desk.models["timeline"].query("SELECT kind, body FROM timeline ORDER BY position")


def test_a_reply_no_channel_can_deliver_is_refused_with_the_text_kept(desk: Desk) -> None:
    agent = desk.browser()
    sign_in(agent, AGENT, lang="en")
    page = agent.get(f"/console/requests/{desk.reference}?lang=en").text
    refused = agent.post(f"/console/requests/{desk.reference}/reply", data={
        "body": "您好 " + SCRIPT, "csrf_token": csrf_of(page), "channel": "telegram"})
    assert refused.status_code == 422  # no Telegram identity, no sender configured
    assert "telegram" in refused.text.lower()
    assert "您好 &lt;script&gt;" in refused.text
    assert not any(e["kind"] == "reply" for e in _timeline(desk))


def test_language_is_chosen_kept_and_follows_the_user(desk: Desk) -> None:
    browser = desk.browser()
    assert '<html lang="zh-CN">' in browser.get("/login").text  # the desk's default
    english = browser.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    assert '<html lang="en">' in english and "Sign in to Ledgerdesk" in english
    sign_in(browser, AGENT)
    page = browser.get("/console?lang=en").text
    assert '<html lang="en">' in page and ">Inbox<" in page
    assert '<html lang="en">' in browser.get("/console").text  # kept without the parameter
    assert desk.app.user(AGENT).language == "en"  # on the account: another browser too
    other_browser = desk.browser()
    sign_in(other_browser, AGENT)
    assert '<html lang="en">' in other_browser.get("/console").text
    chinese = browser.get("/console?lang=zh-CN").text
    assert '<html lang="zh-CN">' in chinese and ">收件箱<" in chinese


def test_deactivating_a_user_ends_their_session_at_once(desk: Desk) -> None:
    agent = desk.browser()
    sign_in(agent, OTHER)
    assert agent.get("/console").status_code == 200
    desk.app.handle(DeactivateUser(OTHER, actor=ADMIN))
    answer = agent.get("/console", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_signing_out_and_never_redirecting_elsewhere(desk: Desk) -> None:
    browser = desk.browser()
    answer = sign_in(browser, AGENT, next="//evil.example/phish")
    assert answer.headers["location"] == "/console"
    page = browser.get("/console").text
    assert browser.post("/logout", data={"csrf_token": csrf_of(page)},
                        follow_redirects=False).headers["location"] == "/login"
    assert browser.get("/console", follow_redirects=False).status_code == 303


def test_attachments_download_safely_and_erased_ones_never(store: Database, app: Ledgerdesk,
                                                           tmp_path: Path) -> None:
    from domain.blobstore import BlobStore

    blobs = BlobStore(tmp_path / "blobs")
    app.handle(AddUser(AGENT, ["agent"], actor="setup", password=PASSWORD))
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup",
                                identities=[("email", "zhang@acme.cn")]))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    page_html = b"<html><script>alert(1)</script></html>"
    attached = (blobs.put(png, "photo.png", "image/png"),
                blobs.put(page_html, "invoice.html", "text/html"),
                blobs.put(page_html, "fake.png", "image/png"))
    recorded = app.handle(RecordInbound(InboundMessage(
        "email", "<a1@acme.cn>", "zhang@acme.cn", "see the files", subject="files",
        attachments=attached)))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs",
                        secret_key="k")
    models = open_read_models(settings, app)
    for projector in models.projectors:
        projector.catch_up()
    log = open_access_log(tmp_path, models.datastore)
    client = TestClient(create_app(app, models, access_log=log, secret_key="s", blobs=blobs))
    try:
        sign_in(client, AGENT)
        page = client.get(f"/console/requests/{recorded.reference}").text
        assert f"/console/requests/{recorded.reference}/attachments/1" in page
        base = f"/console/requests/{recorded.reference}/attachments/"
        image = client.get(base + "1")
        assert image.content == png and image.headers["content-type"] == "image/png"
        for number in ("2", "3"):  # a page, and a page claiming to be an image
            answer = client.get(base + number)
            assert answer.content == page_html
            assert answer.headers["content-type"] == "application/octet-stream"
            assert answer.headers["content-disposition"].startswith("attachment")
        assert client.get(base + "4").status_code == 404
        assert any(e["kind"] == "attachment" for e in log.entries(AccessFilter()))
    finally:
        log.close()
        models.close()


def test_a_reply_carries_attached_files_and_an_oversize_one_is_refused(
        store: Database, app: Ledgerdesk, tmp_path: Path) -> None:
    from domain.blobstore import BlobStore

    blobs = BlobStore(tmp_path / "blobs", max_bytes=2000)
    app.handle(AddUser(AGENT, ["agent"], actor="setup", password=PASSWORD))
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup",
                                identities=[("email", "zhang@acme.cn")]))
    recorded = app.handle(RecordInbound(InboundMessage(
        "email", "<u1@acme.cn>", "zhang@acme.cn", "manual please", subject="manual")))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs",
                        secret_key="k")
    models = open_read_models(settings, app)
    client = TestClient(create_app(app, models, secret_key="s", blobs=blobs))
    try:
        for projector in models.projectors:
            projector.catch_up()
        sign_in(client, AGENT)
        path = f"/console/requests/{recorded.reference}"
        token = csrf_of(client.get(path).text)
        noted = client.post(path + "/note", data={"body": "手册见附件", "csrf_token": token},
                            files=[("attachments", ("../../手册.pdf", b"%PDF-1.4 manual",
                                                    "application/pdf"))],
                            follow_redirects=False)
        assert noted.status_code == 303
        too_big = client.post(path + "/note", data={"body": "big", "csrf_token": token},
                              files=[("attachments", ("big.bin", b"x" * 2001,
                                                      "application/octet-stream"))])
        assert too_big.status_code == 413 and "big.bin" in too_big.text
        for projector in models.projectors:
            projector.catch_up()
        rows = models["timeline"].query("SELECT kind, body, attachments FROM timeline "
                                        "WHERE kind = 'note'")
        assert [r["body"] for r in rows] == ["手册见附件"]  # the oversize one left nothing
        assert "手册.pdf" in rows[0]["attachments"] and "../" not in rows[0]["attachments"]
        download = client.get(path + "/attachments/1")
        assert download.content == b"%PDF-1.4 manual"
    finally:
        models.close()


def test_the_inbox_sorts_by_due_time_and_priority_and_pages_without_gaps(desk: Desk) -> None:
    from domain.access import Principal
    from domain.requests.commands import OpenRequest
    from projections import queries

    for priority in ("low", "urgent", "normal", "high", "urgent"):
        desk.app.handle(OpenRequest("ACME", "support", f"{priority} one", actor=AGENT,
                                    priority=priority))
    desk.project()
    agent = Principal(AGENT, ("agent",), None)

    def walk(sort: str) -> list[dict[str, Any]]:
        seen, cursor = [], None
        while True:
            page = queries.inbox(desk.models, agent,
                                 {"sort": sort, "limit": "2", **({"cursor": cursor} if cursor
                                                                 else {})})
            seen.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return seen

    by_priority = walk("priority")
    assert len({r["reference"] for r in by_priority}) == len(by_priority) == 6
    ranks = {"urgent": 3, "high": 2, "normal": 1, "low": 0}
    assert [ranks[r["priority"]] for r in by_priority] == sorted(
        (ranks[r["priority"]] for r in by_priority), reverse=True)
    by_due = walk("sla")
    dues = [r["sla_due_at"] or "9999" for r in by_due]
    assert dues == sorted(dues) and len(by_due) == 6  # urgent (1 h) first
    agent_browser = desk.browser()
    sign_in(agent_browser, AGENT)
    page = agent_browser.get("/console?sort=priority").text
    assert page.index("urgent one") < page.index("low one")
    assert agent_browser.get("/console?sort=nonsense").status_code == 200  # said, not crashed
