"""Knowledge authoring end to end through /api/v1, on SQLite and PostgreSQL
(issue 15 item 9): draft → review → published → revised → retired, every
refused step, who may do what, and what a customer sees."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import ChangeStatus, OpenRequest
from domain.users.commands import AddUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.registry import ReadModels, open_read_models
from tests.support.desks import PASSWORD

AGENT, ENGINEER, MANAGER, BOSS, ADMIN = ("agent@desk.cn", "eng@desk.cn", "manager@desk.cn",
                                         "boss@desk.cn", "admin@desk.cn")
AUDITOR, CUSTOMER = "audit@desk.cn", "li@acme.cn"
SYMPTOM = {"kind": "symptom", "text": "MX-3000 面板显示 J-17"}
CAUSE = {"kind": "cause", "text": "搓纸轮磨损"}
SOLUTION = {"kind": "solution", "text": "更换搓纸轮 PR-3000-17"}


class Desk:
    def __init__(self, app: Ledgerdesk, models: ReadModels) -> None:
        self.app = app
        self.models = models
        self.asgi = create_app(app, models, secret_key="s")
        self.clients: dict[str, TestClient] = {}

    def project(self) -> None:
        for projector in self.models.projectors:
            projector.catch_up()

    def as_(self, email: str) -> TestClient:
        if email not in self.clients:
            token = self.app.handle(IssueToken(email, actor="setup"))
            self.clients[email] = TestClient(self.asgi,
                                             headers={"Authorization": f"Bearer {token}"})
        return self.clients[email]

    def post(self, email: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.as_(email).post(f"/api/v1{path}", json=body or {})

    def get(self, email: str, path: str) -> Any:
        self.project()
        return self.as_(email).get(f"/api/v1{path}")


@pytest.fixture
def desk(app: Ledgerdesk, store: Database, tmp_path: Path) -> Iterator[Desk]:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    for email, roles in ((AGENT, ["agent"]), (ENGINEER, ["engineer"]), (MANAGER, ["manager"]),
                         (BOSS, ["manager"]), (ADMIN, ["admin"]), (AUDITOR, ["auditor"])):
        app.handle(AddUser(email, roles, actor="setup", password=PASSWORD))
    app.handle(AddUser(CUSTOMER, ["customer"], actor="setup", customer_code="ACME",
                       password=PASSWORD))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    yield Desk(app, models)
    models.close()


def write_draft(desk: Desk, *statements: dict[str, str], by: str = AGENT) -> str:
    answer = desk.post(by, "/kb/drafts", {"title": "MX-3000 卡纸 J-17", "kind": "solution",
                                          "statements": list(statements), "product": "MX-3000",
                                          "tags": ["卡纸"]})
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "draft"
    return str(answer.json()["article_id"])


def publish(desk: Desk, article_id: str, by: str = AGENT, reviewer: str = MANAGER) -> None:
    assert desk.post(by, f"/kb/articles/{article_id}/submit").status_code == 200
    approved = desk.post(reviewer, f"/kb/articles/{article_id}/approve")
    assert approved.status_code == 200, approved.text


def search(desk: Desk, query: str, who: str = CUSTOMER) -> list[str]:
    found = desk.get(who, f"/kb/search?q={query}")
    assert found.status_code == 200
    return [hit["article_id"] for hit in found.json()["items"]]


def test_draft_review_publish_revise_retire(desk: Desk) -> None:
    article_id = write_draft(desk, SYMPTOM)
    edited = desk.post(ENGINEER, f"/kb/articles/{article_id}/draft",
                       {"statements": [SYMPTOM, CAUSE, SOLUTION], "expected_version": 1})
    assert edited.json() == {"article_id": article_id, "changed": True}
    assert desk.get(CUSTOMER, f"/kb/articles/{article_id}").status_code == 404
    assert search(desk, "搓纸轮") == []
    publish(desk, article_id)

    staff = desk.get(AGENT, f"/kb/articles/{article_id}").json()
    assert (staff["status"], staff["revision"], staff["statements"]) == (
        "published", 1, [SYMPTOM, CAUSE, SOLUTION])
    assert [h["action"] for h in staff["history"]] == [
        "drafted", "edited", "submitted", "published"]
    assert staff["revisions"][0]["approved_by"] == MANAGER
    assert set(staff["revisions"][0]["authors"]) == {AGENT, ENGINEER}
    public = desk.get(CUSTOMER, f"/kb/articles/{article_id}").json()
    assert (public["status"], public["revision"], public["statements"]) == (
        "published", 1, [SYMPTOM, CAUSE, SOLUTION])
    assert "history" not in public and "authors" not in public
    assert search(desk, "搓纸轮") == [article_id]

    # Revision 2: readers keep revision 1 until it is approved.
    revised = desk.post(AGENT, f"/kb/articles/{article_id}/revise",
                        {"title": "MX-3000 卡纸 J-17（定影单元）"})
    assert revised.json()["status"] == "draft"
    assert desk.get(CUSTOMER, f"/kb/articles/{article_id}").json()["title"] == "MX-3000 卡纸 J-17"
    publish(desk, article_id, reviewer=BOSS)
    public = desk.get(CUSTOMER, f"/kb/articles/{article_id}").json()
    assert (public["title"], public["revision"]) == ("MX-3000 卡纸 J-17（定影单元）", 2)
    staff = desk.get(AUDITOR, f"/kb/articles/{article_id}").json()
    assert [r["revision"] for r in staff["revisions"]] == [2, 1]

    retired = desk.post(MANAGER, f"/kb/articles/{article_id}/retire", {"reason": "机型停产"})
    assert retired.json()["status"] == "retired"
    assert desk.get(CUSTOMER, f"/kb/articles/{article_id}").status_code == 404
    assert search(desk, "搓纸轮") == []
    staff = desk.get(AGENT, f"/kb/articles/{article_id}").json()
    assert (staff["status"], staff["history"][-1]["reason"]) == ("retired", "机型停产")


def test_send_back_with_a_reason(desk: Desk) -> None:
    article_id = write_draft(desk, SYMPTOM, SOLUTION)
    desk.post(AGENT, f"/kb/articles/{article_id}/submit")
    assert desk.post(MANAGER, f"/kb/articles/{article_id}/send-back", {}).status_code == 400
    back = desk.post(MANAGER, f"/kb/articles/{article_id}/send-back", {"reason": "补充原因"})
    assert back.json()["status"] == "draft"
    staff = desk.get(AGENT, f"/kb/articles/{article_id}").json()
    assert (staff["status"], staff["sent_back_because"]) == ("draft", "补充原因")
    listed = desk.get(MANAGER, "/kb/articles?status=draft").json()["items"]
    assert [(a["article_id"], a["sent_back_because"]) for a in listed] == [
        (article_id, "补充原因")]


@pytest.mark.parametrize(("who", "path", "body", "status"), [
    (MANAGER, "/kb/articles/{id}/approve", {}, 422),  # a draft never reviewed
    (AGENT, "/kb/articles/{id}/submit", {}, 422),  # lacks a solution statement
    (AGENT, "/kb/articles/{id}/revise", {"title": "x"}, 422),  # not published yet
    (MANAGER, "/kb/articles/{id}/send-back", {"reason": "x"}, 422),  # not in review
    (AGENT, "/kb/articles/{id}/draft", {"expected_version": 9, "title": "x"}, 409),
    (AGENT, "/kb/articles/{id}/draft", {"statements": [{"kind": "answer", "text": "x"}]}, 400),
    (AGENT, "/kb/articles/{id}/draft", {"statements": [{"kind": "cause", "text": "x" * 501}]},
     400),
    (AGENT, "/kb/articles/{id}/draft", {"statements": [{"kind": "cause", "text": "x\u0007"}]},
     400),
    (AGENT, "/kb/articles/{id}/draft", {"statements": [{"kind": "cause"}]}, 400),
    (AGENT, "/kb/articles/{id}/draft", {"title": "x" * 201}, 400),
    (AGENT, "/kb/articles/{id}/draft", {"body": "x"}, 400),  # no such field
    (AGENT, "/kb/articles/KB-9999/draft", {"title": "x"}, 404),
    (AGENT, "/kb/drafts", {"title": "x", "kind": "rumour"}, 400),
    (AGENT, "/kb/drafts", {"title": "x", "kind": "faq", "article_id": "KB-1"}, 400),
    (AGENT, "/kb/drafts", {"title": "x", "kind": "faq", "article_id": "{id}"}, 409),
    (AGENT, "/kb/articles/{id}/retire", {"reason": "x"}, 403),  # agents do not retire
    (ENGINEER, "/kb/articles/{id}/approve", {}, 403),
    (CUSTOMER, "/kb/drafts", {"title": "x", "kind": "faq"}, 403),
    (AUDITOR, "/kb/articles/{id}/draft", {"title": "x"}, 403),
])
def test_refused_steps(desk: Desk, who: str, path: str, body: dict[str, Any],
                       status: int) -> None:
    article_id = write_draft(desk, SYMPTOM)
    body = {k: (v.replace("{id}", article_id) if isinstance(v, str) else v)
            for k, v in body.items()}
    answer = desk.post(who, path.replace("{id}", article_id), body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["message"]
    assert desk.app.article(article_id).version == 1  # nothing was recorded


def test_four_eyes_and_states_after_review(desk: Desk) -> None:
    article_id = write_draft(desk, SYMPTOM, SOLUTION, by=MANAGER)
    desk.post(MANAGER, f"/kb/articles/{article_id}/submit")
    own = desk.post(MANAGER, f"/kb/articles/{article_id}/approve")
    assert own.status_code == 403 and "second person" in own.json()["error"]["message"]
    assert desk.post(AGENT, f"/kb/articles/{article_id}/draft",
                     {"title": "x"}).status_code == 422  # in review: send it back first
    assert desk.post(ADMIN, f"/kb/articles/{article_id}/approve").status_code == 200
    assert desk.post(AGENT, f"/kb/articles/{article_id}/draft",
                     {"title": "x"}).status_code == 422  # published: revise instead
    assert desk.post(MANAGER, f"/kb/articles/{article_id}/retire",
                     {"reason": "重复"}).status_code == 200
    for path, body in (("draft", {"title": "x"}), ("revise", {"title": "x"}),
                       ("submit", {}), ("retire", {"reason": "x"})):
        refused = desk.post(MANAGER, f"/kb/articles/{article_id}/{path}", body)
        assert refused.status_code == 422 and "retired" in refused.json()["error"]["message"]


def test_lists_and_visibility(desk: Desk) -> None:
    published = write_draft(desk, SYMPTOM, SOLUTION)
    publish(desk, published)
    draft = write_draft(desk, SYMPTOM)
    assert desk.get(CUSTOMER, "/kb/articles").status_code == 403
    assert desk.get(CUSTOMER, f"/kb/articles/{draft}").status_code == 404
    assert desk.get(CUSTOMER, f"/kb/articles/{published}").status_code == 200
    assert desk.get(CUSTOMER, "/kb/articles/not-an-id").status_code == 404
    by_status = {s: [a["article_id"] for a in desk.get(AGENT, f"/kb/articles?status={s}")
                     .json()["items"]] for s in ("draft", "published", "in_review")}
    assert by_status == {"draft": [draft], "published": [published], "in_review": []}
    assert desk.get(AUDITOR, "/kb/articles?q=j-17").json()["items"][0]["title"] == \
        "MX-3000 卡纸 J-17"
    assert desk.get(AGENT, "/kb/articles?status=lost").status_code == 400


def test_draft_from_a_resolved_request(desk: Desk) -> None:
    reference = desk.app.handle(OpenRequest("ACME", "repair", "复印机卡纸 J-17", actor=AGENT,
                                            description="每天卡纸三次", product="MX-3000"))
    early = desk.post(AGENT, f"/service-requests/{reference}/knowledge", {})
    assert early.status_code == 422
    desk.app.handle(ChangeStatus(reference, "resolved", actor=AGENT, reason="更换搓纸轮后正常"))
    made = desk.post(AGENT, f"/service-requests/{reference}/knowledge", {"kind": "case"})
    assert made.status_code == 201, made.text
    article = desk.get(AGENT, f"/kb/articles/{made.json()['article_id']}").json()
    assert (article["status"], article["kind"], article["source_reference"], article["title"],
            article["product"]) == ("draft", "case", reference, "复印机卡纸 J-17", "MX-3000")
    assert article["statements"] == [
        {"kind": "symptom", "text": "复印机卡纸 J-17"}, {"kind": "symptom", "text": "每天卡纸三次"},
        {"kind": "solution", "text": "更换搓纸轮后正常"}]
    assert desk.post(AGENT, "/service-requests/SR-999999/knowledge", {}).status_code == 404


def test_an_article_stored_with_the_old_events_reads_everywhere(desk: Desk) -> None:
    from tests.integration.test_knowledge_lifecycle import store_legacy

    store_legacy(desk.app, upto=2)  # published, then revised in place
    public = desk.get(CUSTOMER, "/kb/articles/KB-0007").json()
    assert (public["revision"], public["statements"][-1]) == (
        2, {"kind": "note", "text": "检查搓纸轮"})
    assert search(desk, "搓纸轮") == ["KB-0007"]
    staff = desk.get(AGENT, "/kb/articles/KB-0007").json()
    assert [h["action"] for h in staff["history"]] == ["published", "revised"]
    # Its next revision goes through review like any other.
    desk.post(AGENT, "/kb/articles/KB-0007/revise",
              {"kind": "solution", "statements": [SYMPTOM, SOLUTION]})
    publish(desk, "KB-0007")
    public = desk.get(CUSTOMER, "/kb/articles/KB-0007").json()
    assert (public["revision"], public["statements"]) == (3, [SYMPTOM, SOLUTION])
    assert search(desk, "J-17") == ["KB-0007"]
