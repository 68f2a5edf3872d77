"""The customer portal through Starlette's test client, on SQLite and
PostgreSQL: who reaches what, another organisation's data looking unknown,
opening a request with files, follow-ups, closing, reopening, rating, and
what customers never see."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.customers.commands import RegisterCustomer
from domain.installed_base.commands import RegisterProduct
from domain.requests.commands import AddNote, ChangeStatus, OpenRequest, QueueReply
from domain.users.commands import AddUser
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.registry import ReadModels, open_read_models
from tests.support.desks import PASSWORD, csrf_of, sign_in

LI, WANG, AGENT = "li@acme.cn", "wang@other.cn", "agent@desk.cn"
SCRIPT = "<script>alert(3)</script>"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


class Portal:
    def __init__(self, app: Ledgerdesk, models: ReadModels, asgi: object) -> None:
        self.app, self.models, self.asgi = app, models, asgi

    def project(self) -> None:
        for projector in self.models.projectors:
            projector.catch_up()

    def browser(self, email: str | None = None) -> TestClient:
        client = TestClient(self.asgi, headers={"Accept-Language": "en"})  # type: ignore[arg-type]
        if email:
            sign_in(client, email)
        return client


@pytest.fixture
def portal(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[Portal]:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup", identities=[("email", LI)]))
    app.handle(RegisterCustomer("OTHER", "别家", actor="setup", identities=[("email", WANG)]))
    app.handle(RegisterProduct("MX-1", "MX-3000", "ACME", actor="setup"))
    app.handle(RegisterProduct("OT-9", "OT-100", "OTHER", actor="setup"))
    app.handle(AddUser(LI, ["customer"], actor="setup", customer_code="ACME", password=PASSWORD))
    app.handle(AddUser(WANG, ["customer"], actor="setup", customer_code="OTHER",
                       password=PASSWORD))
    app.handle(AddUser(AGENT, ["agent"], actor="setup", password=PASSWORD))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    asgi = create_app(app, models, secret_key="s", blobs=BlobStore(tmp_path / "b", 4000))
    p = Portal(app, models, asgi)
    yield p
    models.close()


def test_customers_reach_the_portal_and_staff_do_not(portal: Portal) -> None:
    customer = portal.browser(LI)
    for path in ("/portal", "/portal/requests", "/portal/requests/new", "/portal/kb",
                 "/portal/products", "/portal/preferences"):
        assert customer.get(path).status_code == 200, path
    agent = portal.browser(AGENT)
    assert agent.get("/portal").status_code == 403
    signed_out = portal.browser()
    assert signed_out.get("/portal/requests", follow_redirects=False).status_code == 303


def test_a_request_opened_with_a_photo_reaches_the_inbox_and_the_page(portal: Portal) -> None:
    portal.project()
    customer = portal.browser(LI)
    form = customer.get("/portal/requests/new?product=MX-1").text
    assert 'value="MX-1" selected' in form
    answer = customer.post("/portal/requests/new", data={
        "csrf_token": csrf_of(form), "type": "repair", "subject": "卡纸 " + SCRIPT,
        "description": "每天卡纸", "product": "MX-1"},
        files=[("attachments", ("jam.png", PNG, "image/png"))], follow_redirects=False)
    assert answer.status_code == 303
    reference = answer.headers["location"].rsplit("/", 1)[-1]
    portal.project()
    [row] = portal.models["inbox"].query("SELECT customer_code, channel, product FROM inbox "
                                         "WHERE reference = ?", (reference,))
    assert row == {"customer_code": "ACME", "channel": "web", "product": "MX-1"}
    page = customer.get(f"/portal/requests/{reference}").text
    assert "卡纸 &lt;script&gt;" in page and "<script>alert(3)" not in page
    assert "jam.png" in page
    photo = customer.get(f"/portal/requests/{reference}/attachments/1")
    assert photo.content == PNG
    assert reference in customer.get("/portal/requests?q=卡纸").text
    assert f'data-reference="{reference}"' in customer.get("/portal").text  # new: not resolved


def test_a_wrong_form_says_which_field_and_keeps_what_was_typed(portal: Portal) -> None:
    customer = portal.browser(LI)
    token = csrf_of(customer.get("/portal/requests/new").text)
    missing = customer.post("/portal/requests/new", data={
        "csrf_token": token, "type": "repair", "subject": "", "description": "描述还在"})
    assert missing.status_code == 400
    assert 'id="subject-error"' in missing.text and "描述还在" in missing.text
    for name, data, kind in (("run.exe", b"MZ\x90\x00", "application/x-msdownload"),
                             ("fake.png", b"<html>", "image/png")):
        refused = customer.post("/portal/requests/new", data={
            "csrf_token": token, "type": "repair", "subject": "files", "description": "x"},
            files=[("attachments", (name, data, kind))])
        assert refused.status_code == 400 and name in refused.text
    too_big = customer.post("/portal/requests/new", data={
        "csrf_token": token, "type": "repair", "subject": "big"},
        files=[("attachments", ("big.png", PNG + b"0" * 5000, "image/png"))])
    assert too_big.status_code == 400 and "big.png" in too_big.text
    no_csrf = customer.post("/portal/requests/new", data={"type": "repair", "subject": "x"})
    assert no_csrf.status_code == 403
    portal.project()
    assert portal.models["inbox"].query("SELECT reference FROM inbox") == []  # nothing kept


def test_another_organisations_request_looks_unknown(portal: Portal) -> None:
    theirs = portal.app.handle(OpenRequest("OTHER", "support", "别家的请求", actor="setup"))
    portal.app.handle(OpenRequest("ACME", "support", "我们的请求", actor="setup"))
    portal.project()
    customer = portal.browser(LI)
    token = csrf_of(customer.get("/portal").text)
    unknown = customer.get("/portal/requests/SR-999999")
    foreign = customer.get(f"/portal/requests/{theirs}")
    assert unknown.status_code == foreign.status_code == 404
    assert "别家的请求" not in foreign.text
    for action in ("follow-up", "close", "rate"):
        answer = customer.post(f"/portal/requests/{theirs}/{action}",
                               data={"csrf_token": token, "body": "hi", "score": "5"})
        assert answer.status_code == 404, action
    assert customer.get(f"/portal/requests/{theirs}/attachments/1").status_code == 404
    products = customer.get("/portal/products").text
    assert "MX-1" in products and "OT-9" not in products
    assert theirs not in customer.get("/portal/requests").text


def test_the_conversation_without_the_desks_internals(portal: Portal) -> None:
    reference = portal.app.handle(OpenRequest("ACME", "support", "报价", actor=f"web:{LI}"))
    portal.app.handle(AddNote(reference, "内部：客户付款慢", actor=AGENT))
    portal.app.handle(QueueReply(reference, "您好，报价见附件。", actor=AGENT, channel="web"))
    portal.project()
    customer = portal.browser(LI)
    page = customer.get(f"/portal/requests/{reference}").text
    assert "您好，报价见附件。" in page and "内部：客户付款慢" not in page
    assert AGENT not in page and 'data-kind="note"' not in page

    # follow up (twice with the same form id: recorded once), close, reopen, rate
    form_id = "form-123"
    for _ in range(2):
        customer.post(f"/portal/requests/{reference}/follow-up", data={
            "csrf_token": csrf_of(page), "body": "谢谢，还有一个问题", "client_id": form_id})
    portal.project()
    timeline = portal.models["timeline"].query("SELECT kind, body FROM timeline WHERE kind = "
                                               "'message'")
    assert [r["body"] for r in timeline] == ["谢谢，还有一个问题"]
    closed = customer.post(f"/portal/requests/{reference}/close",
                           data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert closed.status_code == 303
    assert portal.app.service_request(reference).status == "closed"
    reopened = customer.post(f"/portal/requests/{reference}/reopen",
                             data={"csrf_token": csrf_of(page), "reason": "又卡纸了"},
                             follow_redirects=False)
    assert reopened.status_code == 303
    assert portal.app.service_request(reference).status == "open"
    portal.app.handle(ChangeStatus(reference, "resolved", actor=AGENT))
    portal.project()
    page = customer.get(f"/portal/requests/{reference}").text
    assert 'data-action="rate"' in page
    bad = customer.post(f"/portal/requests/{reference}/rate",
                        data={"csrf_token": csrf_of(page), "score": "9"})
    assert bad.status_code == 422
    rated = customer.post(f"/portal/requests/{reference}/rate", data={
        "csrf_token": csrf_of(page), "score": "4", "comment": "快"}, follow_redirects=False)
    assert rated.status_code == 303
    portal.project()
    assert "4 / 5" in customer.get(f"/portal/requests/{reference}").text


def test_preferences_keep_language_and_time_zone(portal: Portal) -> None:
    customer = portal.browser(LI)
    token = csrf_of(customer.get("/portal/preferences").text)
    saved = customer.post("/portal/preferences", data={
        "csrf_token": token, "language": "zh-CN", "timezone": "Europe/Stockholm"},
        follow_redirects=False)
    assert saved.status_code == 303
    user = portal.app.user(LI)
    assert (user.language, user.timezone) == ("zh-CN", "Europe/Stockholm")
    assert '<html lang="zh-CN">' in customer.get("/portal").text
    bad = customer.post("/portal/preferences", data={
        "csrf_token": token, "language": "fr", "timezone": "Mars/Olympus"})
    assert bad.status_code == 400


def test_a_request_closed_longer_ago_than_the_window_is_not_reopened(
        store: Database, app: Ledgerdesk, tmp_path: Path) -> None:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup", identities=[("email", LI)]))
    app.handle(AddUser(LI, ["customer"], actor="setup", customer_code="ACME", password=PASSWORD))
    reference = app.handle(OpenRequest("ACME", "support", "旧事", actor=f"web:{LI}"))
    app.handle(ChangeStatus(reference, "closed", actor="agent@desk.cn"))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    try:
        for projector in models.projectors:
            projector.catch_up()
        customer = TestClient(create_app(app, models, secret_key="s", reopen_days=0),
                              headers={"Accept-Language": "en"})
        sign_in(customer, LI)
        page = customer.get(f"/portal/requests/{reference}").text
        refused = customer.post(f"/portal/requests/{reference}/reopen",
                                data={"csrf_token": csrf_of(page), "reason": "again"})
        assert refused.status_code == 422 and "open a new request" in refused.text
        assert app.service_request(reference).status == "closed"
    finally:
        models.close()


def test_a_customer_sees_their_own_requests_and_their_admin_the_organisations(
        portal: Portal) -> None:
    colleague, admin = "sun@acme.cn", "boss@acme.cn"
    portal.app.handle(AddUser(colleague, ["customer"], actor="setup", customer_code="ACME",
                              password=PASSWORD))
    portal.app.handle(AddUser(admin, ["customer_admin"], actor="setup", customer_code="ACME",
                              password=PASSWORD))
    mine = portal.app.handle(OpenRequest("ACME", "support", "李的请求", actor=f"web:{LI}"))
    theirs = portal.app.handle(OpenRequest("ACME", "support", "孙的请求", actor=f"web:{colleague}"))
    by_phone = portal.app.handle(OpenRequest("ACME", "support", "电话登记", actor=AGENT))
    portal.project()
    li = portal.browser(LI)
    listed = li.get("/portal/requests").text
    assert mine in listed and theirs not in listed and by_phone not in listed
    assert li.get(f"/portal/requests/{theirs}").status_code == 404  # like an unknown one
    boss = portal.browser(admin)
    listed = boss.get("/portal/requests").text
    assert mine in listed and theirs in listed and by_phone in listed
    assert boss.get(f"/portal/requests/{theirs}").status_code == 200


def test_did_this_solve_it_counts_one_answer_per_reader(portal: Portal) -> None:
    from domain.knowledge.commands import PublishArticle

    portal.app.handle(PublishArticle("KB-0009", "卡纸怎么办", "打开前盖，取出卡纸。", "solution",
                                     actor=AGENT))
    portal.project()
    customer = portal.browser(LI)
    page = customer.get("/portal/kb/KB-0009").text
    assert 'data-action="answer-article"' in page
    for answer in ("yes", "yes", "no"):  # the same answer twice counts once; a change moves it
        assert customer.post("/portal/kb/KB-0009/answer", data={
            "csrf_token": csrf_of(page), "helped": answer}, follow_redirects=False
        ).status_code == 303
    portal.project()
    from projections.knowledge import feedback

    assert feedback(portal.models["knowledge"], "KB-0009") == {"helped": 0, "not_helped": 1}
    assert customer.post("/portal/kb/KB-0009/answer", data={"helped": "yes"}).status_code == 403
    assert customer.get("/portal/kb/KB-0404").status_code == 404
