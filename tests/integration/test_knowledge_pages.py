"""The console's knowledge pages and the portal's article, on SQLite and
PostgreSQL: write a draft, review it, publish it, read it as a customer; and
"resolve and propose as knowledge" from a request's page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import OpenRequest
from domain.users.commands import AddUser
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.registry import open_read_models
from tests.support.desks import PASSWORD, csrf_of, sign_in

AGENT, MANAGER, CUSTOMER = "agent@desk.cn", "manager@desk.cn", "li@acme.cn"
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def site(app: Ledgerdesk, store: Database, tmp_path: Path) -> Iterator[Any]:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    app.handle(AddUser(AGENT, ["agent"], actor="setup", password=PASSWORD))
    app.handle(AddUser(MANAGER, ["manager"], actor="setup", password=PASSWORD))
    app.handle(AddUser(CUSTOMER, ["customer"], actor="setup", customer_code="ACME",
                       password=PASSWORD))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    asgi = create_app(app, models, secret_key="s")

    class Browser:
        def __call__(self, email: str) -> TestClient:
            client = TestClient(asgi, headers={"Accept-Language": "en"})
            sign_in(client, email)
            return client

        def project(self) -> None:
            for projector in models.projectors:
                projector.catch_up()

    yield Browser()
    models.close()


def post(client: TestClient, path: str, page: str, data: dict[str, str]) -> Any:
    form = {"csrf_token": csrf_of(client.get(page).text), **data}
    return client.post(path, data=form, follow_redirects=False)


def editor_rows(statements: list[tuple[str, str]]) -> dict[str, str]:
    data = {"rows": str(len(statements))}
    for i, (kind, text) in enumerate(statements):
        data[f"kind_{i}"], data[f"text_{i}"] = kind, text
    return data


def test_write_review_publish_and_read_in_the_portal(site: Any) -> None:
    agent, manager, customer = site(AGENT), site(MANAGER), site(CUSTOMER)
    assert 'data-action="new-article"' in agent.get("/console/kb").text
    made = post(agent, "/console/kb/new", "/console/kb/new", {
        "title": f"复印机卡纸 {SCRIPT}", "kind": "solution", "language": "zh",
        "product": "MX-3000", "tags": "卡纸, J-17",
        **editor_rows([("symptom", "面板显示 J-17"), ("solution", "")])})
    assert made.status_code == 303, made.text
    edit_url = made.headers["location"]
    article_id = edit_url.split("/")[3]
    editor = agent.get(edit_url).text
    assert SCRIPT not in editor and "&lt;script&gt;" in editor
    # Submitting without a solution statement is refused, with what was typed kept.
    refused = post(agent, edit_url, edit_url, {
        "title": "复印机卡纸", "kind": "solution", "language": "zh", "product": "MX-3000",
        "tags": "卡纸", "expected_version": "1", "then": "submit",
        **editor_rows([("symptom", "面板显示 J-17"), ("cause", "搓纸轮磨损")])})
    assert refused.status_code == 422 and "solution" in refused.text
    saved = post(agent, edit_url, edit_url, {
        "title": "复印机卡纸", "kind": "solution", "language": "zh", "product": "MX-3000",
        "tags": "卡纸", "then": "submit", "remove_1": "1",
        **editor_rows([("symptom", "面板显示 J-17"), ("cause", "搓纸轮磨损"),
                       ("solution", "更换搓纸轮")])})
    assert saved.status_code == 303 and saved.headers["location"] == f"/console/kb/{article_id}"
    page = agent.get(f"/console/kb/{article_id}").text
    assert 'data-status="in_review"' in page and "搓纸轮磨损" not in page  # removed row
    assert 'data-action="approve-article"' not in page  # agents do not review
    assert customer.get(f"/portal/kb/{article_id}").status_code == 404

    queue = manager.get("/console/kb/review").text
    assert f'data-article="{article_id}"' in queue
    approved = post(manager, f"/console/kb/{article_id}/approve", f"/console/kb/{article_id}", {})
    assert approved.status_code == 303
    page = manager.get(f"/console/kb/{article_id}").text
    assert 'data-status="published"' in page and 'data-revision="1"' in page
    assert 'data-action="submitted"' in page and 'data-action="published"' in page

    public = customer.get(f"/portal/kb/{article_id}")
    assert public.status_code == 200
    assert 'data-statement="symptom"' in public.text and "更换搓纸轮" in public.text
    assert article_id in customer.get("/portal/kb?q=搓纸轮").text


def test_refusals_on_the_pages(site: Any) -> None:
    agent, manager = site(AGENT), site(MANAGER)
    made = post(manager, "/console/kb/new", "/console/kb/new", {
        "title": "卡纸", "kind": "faq", "language": "zh", "product": "", "tags": "",
        **editor_rows([("question", "卡纸怎么办？"), ("answer", "打开前盖")])})
    article_id = made.headers["location"].split("/")[3]
    page = f"/console/kb/{article_id}"
    assert post(manager, f"{page}/submit", page, {}).status_code == 303
    own = post(manager, f"{page}/approve", page, {})
    assert own.status_code == 403 and "second person" in own.text
    assert post(agent, f"{page}/approve", "/console/kb", {}).status_code == 403
    blank = post(manager, f"{page}/send-back", page, {"reason": " "})
    assert blank.status_code == 400 and 'role="alert"' in blank.text
    assert post(manager, f"{page}/send-back", page, {"reason": "补充型号"}).status_code == 303
    assert "补充型号" in agent.get(page).text
    bad = post(agent, f"{page}/edit", f"{page}/edit", {
        "title": "卡纸", "kind": "faq", "language": "zh", "product": "", "tags": "",
        **editor_rows([("symptom", "x")])})
    assert bad.status_code == 400 and "takes statements of kind" in bad.text
    assert agent.get("/console/kb/KB-9999").status_code == 404
    assert site(CUSTOMER).get("/console/kb").status_code == 403


def test_resolve_and_propose_as_knowledge(site: Any, app: Ledgerdesk) -> None:
    reference = app.handle(OpenRequest("ACME", "repair", "复印机卡纸 J-17", actor=AGENT,
                                       description="每天卡纸三次", product="MX-3000"))
    agent = site(AGENT)
    site.project()
    request_page = f"/console/requests/{reference}"
    assert 'data-action="resolve-knowledge"' in agent.get(request_page).text
    answer = post(agent, f"{request_page}/knowledge", request_page,
                  {"status": "open", "reason": "更换搓纸轮后正常"})
    assert answer.status_code == 303, answer.text
    edit_url = answer.headers["location"]
    assert app.service_request(reference).status == "resolved"
    editor = agent.get(edit_url).text
    assert "每天卡纸三次" in editor and "更换搓纸轮后正常" in editor
    article_id = edit_url.split("/")[3]
    assert app.article(article_id).source_reference == reference
