"""The auditor's view and user administration in the browser, on both stores:
signed in through the real /login form, asserting what a person would see."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from channels.web import audit_pages
from domain.application import Ledgerdesk
from domain.customers.commands import EraseCustomer, RegisterCustomer
from domain.requests.commands import AddNote, OpenRequest
from domain.users.commands import AddUser
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.access_log import AccessFilter, AccessLog, open_access_log
from projections.audit import EXPORT_COLUMNS, verify
from projections.registry import ReadModels, open_read_models

ADMIN, AGENT, AUDITOR = "admin@desk.cn", "agent@desk.cn", "audit@desk.cn"
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
POST_FORM = re.compile(r'<form[^>]*method="post"[^>]*>')


@dataclass
class Desk:
    app: Ledgerdesk
    models: ReadModels
    log: AccessLog
    web: Starlette
    reference: str

    def sync(self) -> None:
        for projector in self.models.projectors:
            projector.catch_up()

    def browser(self, email: str, password: str = PASSWORD) -> TestClient:
        """A browser of its own (its own cookies), signed in through /login."""
        client = TestClient(self.web, headers={"Accept-Language": "en"})  # English msgids
        sign_in(client, email, password)
        return client


@pytest.fixture
def desk(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[Desk]:
    for email, role in ((ADMIN, "admin"), (AGENT, "agent"), (AUDITOR, "auditor")):
        app.handle(AddUser(email, [role], actor="setup", name=email.split("@")[0],
                           password=PASSWORD))
    app.handle(RegisterCustomer("ACME", "艾克美科技", actor=AGENT))
    reference = app.handle(OpenRequest("ACME", "repair", "打印机卡纸", actor=AGENT))
    app.handle(AddNote(reference, "客户说明天再来电", actor=AGENT))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    log = open_access_log(tmp_path, models.datastore)
    desk = Desk(app, models, log, create_app(app, models, access_log=log,
                                             secret_key="test-secret"), reference)
    desk.sync()
    yield desk
    log.close()
    models.close()


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no csrf_token on the page"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str) -> None:
    form = client.get("/login")
    assert form.status_code == 200
    answer = client.post("/login", data={"email": email, "password": password,
                                         "csrf_token": csrf_of(form.text), "next": ""},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text


def post(client: TestClient, path: str, data: dict[str, str], page: str = "/console/admin/users"
         ) -> httpx.Response:
    """Post a form the way the page does: with the token the page carries."""
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def post_forms(html: str) -> list[str]:
    return POST_FORM.findall(html)


def test_an_auditor_reads_a_requests_history_with_the_chain_check_and_no_write_control(
    desk: Desk
) -> None:
    auditor = desk.browser(AUDITOR)
    assert auditor.get("/", follow_redirects=False).headers["location"] == "/console/audit"

    page = auditor.get(f"/console/audit?request={desk.reference}")
    assert page.status_code == 200
    assert "ServiceRequest.Opened" in page.text and "ServiceRequest.NoteAdded" in page.text
    assert AGENT in page.text
    positions = [int(p) for p in re.findall(r'data-position="(\d+)"', page.text)]
    assert positions == sorted(positions) and len(positions) >= 2
    # The note's text is there, escaped JSON in the data column.
    assert "客户说明天再来电" in page.text and '<pre class="data">' in page.text
    chain = verify(desk.app.recorder, desk.models["audit"])
    assert chain.intact
    assert f"Chain intact: {chain.checked} events checked." in page.text
    assert chain.head_hash in page.text
    # Read-only: the only form that posts is signing out; no staff navigation.
    assert [f for f in post_forms(page.text) if 'action="/logout"' not in f] == []
    assert 'href="/console/admin/users"' not in page.text
    assert '<a href="/console"' not in page.text

    intro = auditor.get("/console/audit")
    assert intro.status_code == 200 and "Every change the desk recorded" in intro.text
    assert 'data-position="1"' in intro.text

    # Auditors change nothing, whatever they post.
    token = csrf_of(page.text)
    refused = auditor.post(f"/console/requests/{desk.reference}/note",
                           data={"body": "x", "csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 403


def test_the_audit_trail_pages_and_filters_by_actor(desk: Desk, monkeypatch: pytest.MonkeyPatch
                                                    ) -> None:
    monkeypatch.setattr(audit_pages, "PAGE_SIZE", 2)
    auditor = desk.browser(AUDITOR)
    first = auditor.get("/console/audit?customer=ACME")
    assert first.status_code == 200
    seen = re.findall(r'data-position="(\d+)"', first.text)
    assert len(seen) == 2
    following = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert following
    second = auditor.get(following.group(1).replace("&amp;", "&"))
    more = re.findall(r'data-position="(\d+)"', second.text)
    assert more and int(more[0]) > int(seen[-1])

    by_setup = auditor.get("/console/audit?actor=setup")
    types = set(re.findall(r'data-type="([^"]+)"', by_setup.text))
    assert types and types <= {"User.Created", "User.PasswordSet"}
    bad_date = auditor.get("/console/audit?since=yesterday")
    assert bad_date.status_code == 400 and "since is a date" in bad_date.text


def test_exports_download_every_matching_event_as_jsonl_and_csv(desk: Desk) -> None:
    auditor = desk.browser(AUDITOR)
    page = auditor.get(f"/console/audit?request={desk.reference}")
    assert f"/console/audit/export?request={desk.reference}&amp;format=csv" in page.text

    jsonl = auditor.get(f"/console/audit/export?request={desk.reference}&format=jsonl")
    assert jsonl.status_code == 200
    assert jsonl.headers["content-disposition"].startswith("attachment;")
    assert f"audit-{desk.reference}.jsonl" in jsonl.headers["content-disposition"]
    events = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [e["type"] for e in events][:2] == ["ServiceRequest.Opened", "ServiceRequest.NoteAdded"]
    assert events[1]["data"]["body"] == "客户说明天再来电" and events[1]["actor"] == AGENT

    exported = auditor.get(f"/console/audit/export?request={desk.reference}&format=csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [r[0] for r in rows[1:]] == [str(e["position"]) for e in events]
    assert json.loads(rows[2][EXPORT_COLUMNS.index("data")])["body"] == "客户说明天再来电"

    logged = desk.log.entries(AccessFilter(actor=AUDITOR))
    assert [(e["surface"], e["kind"], e["subject"]) for e in logged][-2:] == [
        ("console", "audit_export", desk.reference)] * 2
    assert logged[-1]["detail"] == {"request": desk.reference, "format": "csv"}


def test_erased_data_reads_erased_next_to_the_erasure_event(desk: Desk) -> None:
    desk.app.handle(EraseCustomer("ACME", "erasure request SR-000042", actor=ADMIN))
    desk.sync()
    page = desk.browser(AUDITOR).get("/console/audit?customer=ACME")
    assert page.status_code == 200
    assert "[erased]" in page.text and "Customer.Erased" in page.text
    assert "艾克美科技" not in page.text


def test_an_unknown_subject_is_a_404_with_a_message_and_what_was_typed_is_escaped(
    desk: Desk
) -> None:
    auditor = desk.browser(AUDITOR)
    unknown = auditor.get("/console/audit?request=SR-999999")
    assert unknown.status_code == 404
    assert "nothing recorded for request SR-999999" in unknown.text
    assert "data-position" not in unknown.text
    nobody = auditor.get("/console/audit?customer=<script>alert(1)</script>")
    assert nobody.status_code == 404 and "<script>alert(1)" not in nobody.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in nobody.text
    export = auditor.get("/console/audit/export?customer=<script>alert(1)</script>&format=csv")
    assert export.status_code == 404 and "<script>alert(1)" not in export.text
    assert "attachment" not in export.headers.get("content-disposition", "")


def test_the_access_log_lists_the_audit_read_just_made_and_is_not_for_agents(desk: Desk) -> None:
    auditor = desk.browser(AUDITOR)
    assert auditor.get(f"/console/audit?request={desk.reference}").status_code == 200
    page = auditor.get("/console/audit/access")
    assert page.status_code == 200
    row = re.search(r'<tr data-seq="\d+" data-kind="audit_export">(.*?)</tr>', page.text, re.S)
    assert row and AUDITOR in row.group(1) and desk.reference in row.group(1)
    assert "console" in row.group(1)
    assert "Chain intact" in page.text
    assert [f for f in post_forms(page.text) if 'action="/logout"' not in f] == []
    filtered = auditor.get(f"/console/audit/access?request={desk.reference}&actor={AUDITOR}")
    assert 'data-kind="audit_export"' in filtered.text
    download = auditor.get("/console/audit/access/export?format=jsonl")
    assert download.headers["content-disposition"].startswith("attachment;")
    kinds = [json.loads(line)["kind"] for line in download.text.splitlines()]
    assert "audit_export" in kinds and "access_export" in kinds
    assert desk.log.verify().intact

    agent = desk.browser(AGENT)
    assert agent.get("/console/audit/access").status_code == 403
    assert agent.get("/console/audit/access/export?format=csv").status_code == 403
    assert agent.get("/console/admin/users").status_code == 403
    assert auditor.get("/console/admin/users").status_code == 403


def test_an_admin_adds_a_user_whose_name_is_shown_escaped(desk: Desk) -> None:
    admin = desk.browser(ADMIN)
    page = admin.get("/console/admin/users")
    assert page.status_code == 200 and AUDITOR in page.text
    forged = admin.post("/console/admin/users/add",
                        data={"email": "x@desk.cn", "role": "agent", "password": PASSWORD})
    assert forged.status_code == 403

    added = post(admin, "/console/admin/users/add", {
        "email": "new@desk.cn", "name": "<script>alert(1)</script>", "role": "agent",
        "customer_code": "", "password": PASSWORD})
    assert added.status_code == 303
    listed = admin.get("/console/admin/users")
    assert "User added." in listed.text
    assert "<script>alert(1)</script>" not in listed.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listed.text
    assert desk.app.user("new@desk.cn").roles == ["agent"]

    again = post(admin, "/console/admin/users/add", {
        "email": "new@desk.cn", "name": "Someone else", "role": "agent", "password": PASSWORD})
    assert again.status_code == 409
    assert "already exists" in again.text and 'value="Someone else"' in again.text
    assert PASSWORD not in again.text
    customer_without_code = post(admin, "/console/admin/users/add", {
        "email": "li@acme.cn", "role": "customer", "password": PASSWORD})
    assert customer_without_code.status_code == 400

    granted = post(admin, "/console/admin/users/grant-role",
                   {"email": "new@desk.cn", "role": "manager"})
    assert granted.status_code == 303
    assert desk.app.user("new@desk.cn").roles == ["agent", "manager"]
    revoked = post(admin, "/console/admin/users/revoke-role",
                   {"email": "new@desk.cn", "role": "agent"})
    assert revoked.status_code == 303
    assert desk.app.user("new@desk.cn").roles == ["manager"]


def test_a_token_is_shown_once_works_and_stops_working_when_revoked(desk: Desk) -> None:
    admin = desk.browser(ADMIN)
    issued = post(admin, "/console/admin/users/issue-token", {"email": AGENT, "label": "ERP"})
    assert issued.status_code == 200
    found = re.search(r"<code class=\"hash\" data-new-token>([^<]+)</code>", issued.text)
    assert found and "shown only this once" in issued.text
    token = found.group(1)
    bearer = {"Authorization": f"Bearer {token}"}
    assert admin.get("/api/v1/inbox", headers=bearer).status_code == 200
    # Never again: not on the next page, not in the session cookie.
    later = admin.get("/console/admin/users")
    assert token not in later.text
    assert all(token not in value for value in admin.cookies.values())

    token_id = desk.app.user(AGENT).tokens.copy().popitem()[0]
    assert f'data-token-id="{token_id}"' in later.text
    revoked = post(admin, "/console/admin/users/revoke-token",
                   {"email": AGENT, "token_id": token_id})
    assert revoked.status_code == 303
    assert admin.get("/api/v1/inbox", headers=bearer).status_code == 401


def test_deactivating_needs_a_confirmation_and_signs_the_user_out_at_once(desk: Desk) -> None:
    agent = desk.browser(AGENT)
    assert agent.get("/console", follow_redirects=False).status_code == 200
    admin = desk.browser(ADMIN)

    unconfirmed = post(admin, "/console/admin/users/deactivate", {"email": AGENT})
    assert unconfirmed.status_code == 400
    assert "I understand" in unconfirmed.text
    assert desk.app.user(AGENT).active

    themselves = post(admin, "/console/admin/users/deactivate",
                      {"email": ADMIN, "confirm": "yes"})
    assert themselves.status_code == 422
    assert desk.app.user(ADMIN).active
    own_role = post(admin, "/console/admin/users/revoke-role", {"email": ADMIN, "role": "admin"})
    assert own_role.status_code == 422 and desk.app.user(ADMIN).roles == ["admin"]

    done = post(admin, "/console/admin/users/deactivate", {"email": AGENT, "confirm": "yes"})
    assert done.status_code == 303
    assert not desk.app.user(AGENT).active
    assert 'data-email="agent@desk.cn" data-active="false"' in admin.get(
        "/console/admin/users").text
    signed_out = agent.get("/console", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login")


def test_the_audit_page_continues_its_last_walk_to_the_same_head_as_a_whole_walk(
        store: Database, app: Ledgerdesk, tmp_path: Path) -> None:
    from channels.web.audit_pages import chain_check
    from channels.web.pages import Web
    from domain.customers.commands import RegisterCustomer as Register

    app.handle(Register("C1", "一号", actor="setup"))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    try:
        for projector in models.projectors:
            projector.catch_up()
        web = Web(app, models, None, None, "s")
        first = asyncio.run(chain_check(web))
        app.handle(Register("C2", "二号", actor="setup"))
        for projector in models.projectors:
            projector.catch_up()
        continued = asyncio.run(chain_check(web))
        whole = asyncio.run(chain_check(web, again=True))
        assert first["intact"] and continued["intact"] and whole["intact"]
        assert continued["checked"] == whole["checked"] > first["checked"]
        assert continued["head_hash"] == whole["head_hash"]
    finally:
        models.close()
