"""Partners (dealers, repair shops; seed 003) in the portal and the JSON API, on
SQLite and PostgreSQL: an admin grants modules per organisation from the
console, the tabs show what is granted, and every page and API read of a
module not granted is refused (403), including a deep link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.chat_links.commands import RedeemLinkCode
from domain.customers.commands import GrantModules, RegisterCustomer
from domain.errors import InvalidInput
from domain.installed_base.commands import RegisterProduct
from domain.requests.commands import OpenRequest
from domain.users.commands import AddUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.access_log import open_access_log
from projections.registry import ReadModels, open_read_models
from tests.support.desks import PASSWORD, csrf_of, sign_in

PARTNER, CUSTOMER, ADMIN, AGENT = "shop@dealer.cn", "li@acme.cn", "admin@desk.cn", "a@desk.cn"
MODULE_PAGES = {
    "requests": ("/portal/requests", "/portal/requests/new"),
    "products": ("/portal/products",),
    "knowledge": ("/portal/kb", "/portal/kb/some-article"),
    "account": ("/portal/account", "/portal/account/orders"),
    "chat": ("/portal/chat",),
}
TAB = {"requests": 'href="/portal/requests"', "products": 'href="/portal/products"',
       "knowledge": 'href="/portal/kb"', "account": 'href="/portal/account"',
       "chat": 'href="/portal/chat"'}


class Desk:
    def __init__(self, app: Ledgerdesk, models: ReadModels, asgi: object, reference: str,
                 token: str) -> None:
        self.app, self.models, self.asgi = app, models, asgi
        self.reference, self.token = reference, token

    def project(self) -> None:
        for projector in self.models.projectors:
            projector.catch_up()

    def browser(self, who: str | None = None) -> TestClient:
        client = TestClient(self.asgi, headers={"Accept-Language": "en"})  # type: ignore[arg-type]
        if who:
            sign_in(client, who)
        return client

    def api(self, path: str) -> int:
        client = TestClient(self.asgi)  # type: ignore[arg-type]
        return client.get(f"/api/v1{path}",
                          headers={"Authorization": f"Bearer {self.token}"}).status_code


@pytest.fixture
def desk(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[Desk]:
    app.handle(RegisterCustomer("DEALER", "经销商", actor="setup", classification="dealer"))
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    app.handle(RegisterProduct("DL-1", "MX-3000", "DEALER", actor="setup"))
    reference = app.handle(OpenRequest("DEALER", "repair", "卡纸", actor="setup"))
    app.handle(AddUser(PARTNER, ["partner"], actor="setup", customer_code="DEALER",
                       password=PASSWORD))
    app.handle(AddUser(CUSTOMER, ["customer"], actor="setup", customer_code="ACME",
                       password=PASSWORD))
    app.handle(AddUser(ADMIN, ["admin"], actor="setup", password=PASSWORD))
    app.handle(AddUser(AGENT, ["agent"], actor="setup", password=PASSWORD))
    token = app.handle(IssueToken(PARTNER, actor="setup"))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    log = open_access_log(tmp_path, models.datastore)
    d = Desk(app, models, create_app(app, models, access_log=log, secret_key="s"), reference,
             token)
    d.project()
    yield d
    log.close()
    models.close()


def grant(desk: Desk, admin: TestClient, *modules: str) -> int:
    page = admin.get("/console/customers/DEALER").text
    answer = admin.post("/console/customers/DEALER/modules", data={
        "csrf_token": csrf_of(page), "modules": list(modules)}, follow_redirects=False)
    return answer.status_code


def tabs(html: str) -> set[str]:
    nav = re.search(r'<nav class="tabs".*?</nav>', html, re.S)
    assert nav
    return {module for module, link in TAB.items() if link in nav.group(0)}


def test_a_partner_without_grants_reaches_home_and_preferences_only(desk: Desk) -> None:
    partner = desk.browser(PARTNER)
    home = partner.get("/portal")
    assert home.status_code == 200 and tabs(home.text) == set()
    assert "No part of the portal is enabled" in home.text
    assert partner.get("/portal/preferences").status_code == 200
    for module, paths in MODULE_PAGES.items():
        for path in paths:
            assert partner.get(path).status_code == 403, (module, path)
    assert partner.get(f"/portal/requests/{desk.reference}").status_code == 403
    assert partner.get(f"/portal/requests/{desk.reference}/attachments/1").status_code == 403
    token = csrf_of(home.text)
    assert partner.post("/portal/requests/new", data={
        "csrf_token": token, "type": "repair", "subject": "x"}).status_code == 403
    assert partner.post(f"/portal/requests/{desk.reference}/follow-up", data={
        "csrf_token": token, "body": "x"}).status_code == 403
    for path in (f"/service-requests/{desk.reference}", "/customers/DEALER/360",
                 "/kb/search?q=x"):
        assert desk.api(path) == 403, path
    assert open_over_api(desk) == 403  # writes too, not only reads


def open_over_api(desk: Desk) -> int:
    client = TestClient(desk.asgi)  # type: ignore[arg-type]
    return client.post("/api/v1/service-requests", json={
        "customer_code": "DEALER", "type": "repair", "subject": "over the API"},
        headers={"Authorization": f"Bearer {desk.token}"}).status_code


def test_granted_modules_open_their_pages_tabs_and_api(desk: Desk) -> None:
    admin = desk.browser(ADMIN)
    assert grant(desk, admin, "requests", "knowledge") == 303
    assert open_over_api(desk) == 201
    partner = desk.browser(PARTNER)
    home = partner.get("/portal")
    assert tabs(home.text) == {"requests", "knowledge"}
    assert "My open requests" in home.text
    assert partner.get("/portal/requests").status_code == 200
    assert partner.get(f"/portal/requests/{desk.reference}").status_code == 200
    assert partner.get("/portal/kb").status_code == 200
    for module in ("products", "account", "chat"):
        for path in MODULE_PAGES[module]:
            assert partner.get(path).status_code == 403, path
    assert desk.api(f"/service-requests/{desk.reference}") == 200
    assert desk.api("/customers/DEALER/360") == 200
    assert desk.api("/kb/search?q=x") == 200
    # A new grant replaces the old one, and shows on the next page.
    assert grant(desk, admin, "products") == 303
    assert tabs(partner.get("/portal").text) == {"products"}
    assert partner.get("/portal/products").status_code == 200
    assert partner.get("/portal/requests").status_code == 403
    assert desk.api(f"/service-requests/{desk.reference}") == 403
    assert desk.app.customer("DEALER").portal_modules == ["products"]


def test_customers_keep_every_module(desk: Desk) -> None:
    customer = desk.browser(CUSTOMER)
    assert tabs(customer.get("/portal").text) == set(TAB)
    for paths in MODULE_PAGES.values():
        assert customer.get(paths[0]).status_code == 200, paths[0]


def test_only_admins_grant_and_only_to_partner_organisations(desk: Desk) -> None:
    admin = desk.browser(ADMIN)
    assert 'data-action="modules"' in admin.get("/console/customers/DEALER").text
    assert 'data-action="modules"' not in admin.get("/console/customers/ACME").text
    agent = desk.browser(AGENT)
    page = agent.get("/console/customers/DEALER").text
    assert 'data-action="modules"' not in page
    assert agent.post("/console/customers/DEALER/modules", data={
        "csrf_token": csrf_of(page), "modules": "requests"}).status_code == 403
    page = admin.get("/console/customers/ACME").text
    refused = admin.post("/console/customers/ACME/modules", data={
        "csrf_token": csrf_of(page), "modules": "requests"})
    assert refused.status_code == 400  # the domain refuses: not a partner organisation
    assert grant(desk, admin, "everything") == 400
    no_csrf = admin.post("/console/customers/DEALER/modules", data={"modules": "requests"})
    assert no_csrf.status_code == 403
    assert desk.app.customer("DEALER").portal_modules == []
    with pytest.raises(InvalidInput):
        desk.app.handle(GrantModules("ACME", ["requests"], actor=ADMIN))


def test_the_grant_survives_a_rebuild_of_the_view(desk: Desk) -> None:
    desk.app.handle(GrantModules("DEALER", ["chat", "account"], actor=ADMIN))
    desk.models.projector("customers").rebuild()
    assert tabs(desk.browser(PARTNER).get("/portal").text) == {"account", "chat"}


def test_preferences_link_telegram_once_and_set_the_organisations_channel(desk: Desk) -> None:
    partner = desk.browser(PARTNER)
    page = partner.get("/portal/preferences").text
    assert 'data-action="link-telegram"' in page and 'data-action="notifications"' in page
    token = csrf_of(page)
    assert partner.post("/portal/preferences/telegram", data={}).status_code == 403
    assert partner.post("/portal/preferences/notifications",
                        data={"channel": "email"}).status_code == 403
    shown = partner.post("/portal/preferences/telegram", data={"csrf_token": token})
    found = re.search(r"<code>/start ([A-Z0-9]{10})</code>", shown.text)
    assert shown.status_code == 200 and found
    code = found.group(1)
    stored = b"\n".join(bytes(n.state) for n in
                        desk.app.recorder.select_notifications(start=1, limit=100_000))
    assert code.encode() not in stored
    assert "/start" not in partner.get("/portal/preferences").text  # shown once
    assert desk.app.handle(RedeemLinkCode(code, "telegram", "777001", actor="telegram:777001")) \
        == "DEALER"
    desk.project()
    assert 'data-kind="telegram"' in partner.get("/portal/preferences").text
    saved = partner.post("/portal/preferences/notifications",
                         data={"csrf_token": token, "channel": "telegram"},
                         follow_redirects=False)
    assert saved.status_code == 303
    assert desk.app.customer("DEALER").preferences["notification_channel"] == "telegram"
    assert partner.post("/portal/preferences/notifications", data={
        "csrf_token": token, "channel": "pigeon"}).status_code == 400
    customer = desk.browser(CUSTOMER)
    page = customer.get("/portal/preferences").text
    assert 'data-action="notifications"' not in page
    assert customer.post("/portal/preferences/notifications", data={
        "csrf_token": csrf_of(page), "channel": "email"}).status_code == 400
