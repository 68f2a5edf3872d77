"""Customer upkeep and team management in the console (issue 15, items 3 and 10)
through Starlette's test client, on SQLite and PostgreSQL: each form posts with
its CSRF token, success flashes, a refusal says why beside the form and keeps
what was typed; the customer list finds a number in any spelling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import OpenRequest, Transfer
from domain.teams.commands import CreateTeam
from domain.teams.handlers import load_team
from domain.users.commands import AddUser
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.registry import ReadModels, open_read_models
from tests.support.desks import PASSWORD, csrf_of, sign_in

AGENT, REP, ADMIN = "agent@desk.cn", "rep@desk.cn", "admin@desk.cn"


class Console:
    def __init__(self, app: Ledgerdesk, models: ReadModels) -> None:
        self.app, self.models = app, models
        self.client = TestClient(create_app(app, models, secret_key="s"),
                                 headers={"Accept-Language": "en"})

    def project(self) -> None:
        for projector in self.models.projectors:
            projector.catch_up()

    def post(self, path: str, data: dict[str, str], page: str) -> Any:
        token = csrf_of(self.client.get(page).text)
        return self.client.post(path, data={**data, "csrf_token": token},
                                follow_redirects=False)

    def customer_form(self, action: str, data: dict[str, str], code: str = "ACME") -> Any:
        return self.post(f"/console/customers/{code}/{action}", data,
                         f"/console/customers/{code}")


@pytest.fixture
def console(app: Ledgerdesk, store: Database, tmp_path: Path) -> Iterator[Console]:
    for email, role in ((AGENT, "agent"), (REP, "agent"), (ADMIN, "admin")):
        app.handle(AddUser(email, [role], actor="setup", name=email.split("@")[0],
                           password=PASSWORD))
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup",
                                identities=[("phone", "010-66550101")]))
    app.handle(RegisterCustomer("BETA", "Beta", actor="setup"))
    app.handle(RegisterCustomer("P-1", "Stranger", actor="setup", classification="provisional",
                                identities=[("email", "who@example.cn")]))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    c = Console(app, models)
    c.project()
    yield c
    models.close()


def flashed(console: Console, answer: Any, text: str) -> str:
    assert answer.status_code == 303, answer.text
    page = console.client.get(answer.headers["location"]).text
    assert text in page
    return page


def test_every_upkeep_form_on_the_customer_page(console: Console) -> None:
    sign_in(console.client, AGENT)
    page = console.client.get("/console/customers/ACME").text
    for action in ("profile", "representative", "add-contact", "link-identity",
                   "unlink-identity"):
        assert f'data-action="{action}"' in page
    assert 'data-action="merge"' not in page  # only a provisional customer is merged
    assert 'data-action="merge"' in console.client.get("/console/customers/P-1").text
    assert "+861066550101" in page  # the number, in E.164
    flashed(console, console.customer_form("profile", {
        "name": "艾克美科技", "kind": "company", "classification": "key_account",
        "region": "华北", "address": "北京"}), "Profile saved.")
    assert console.app.customer("ACME").classification == "key_account"
    flashed(console, console.customer_form("contacts", {
        "name": "李工", "department": "设备科", "phone": "138 0000 0001", "email": ""}),
        "Contact added.")
    [contact] = console.app.customer("ACME").contacts
    assert console.app.customer("ACME").contacts[contact]["phone"] == "+8613800000001"
    flashed(console, console.customer_form("contacts/remove", {"contact_id": contact}),
            "Contact removed.")
    flashed(console, console.customer_form("identities", {"kind": "fax",
                                                          "value": "010-6655 0199"}),
            "Identity linked.")
    flashed(console, console.customer_form("identities/remove", {"kind": "fax",
                                                                 "value": "+861066550199"}),
            "Identity unlinked.")
    flashed(console, console.customer_form("representative", {"representative": REP}),
            "Representative assigned.")
    assert console.app.customer("ACME").representative == REP
    answer = console.customer_form("merge", {"target": "ACME"}, code="P-1")
    assert answer.headers["location"] == "/console/customers/ACME"
    flashed(console, answer, "Customer merged.")
    found = console.app.customer_by_identity("email", "who@example.cn")
    assert found is not None and found.code == "ACME"


@pytest.mark.parametrize("action, data, status, says", [
    ("identities", {"kind": "phone", "value": "+86 10 6655 0101"}, 409,
     "already belongs to customer ACME"),
    ("identities", {"kind": "phone", "value": "call me"}, 400, "is not a phone number"),
    ("identities/remove", {"kind": "email", "value": "x@beta.cn"}, 404, "has no email identity"),
    ("contacts", {"name": "", "phone": ""}, 400, "a contact needs a name"),
    ("merge", {"target": "ACME"}, 422, "not provisional"),
    ("representative", {"representative": "nobody@desk.cn"}, 404, "nobody@desk.cn"),
])
def test_a_refused_form_says_why_beside_it_and_keeps_the_input(
    console: Console, action: str, data: dict[str, str], status: int, says: str
) -> None:
    sign_in(console.client, AGENT)
    answer = console.customer_form(action, data, code="BETA")
    assert answer.status_code == status, answer.text
    assert 'class="error" role="alert"' in answer.text
    assert says in answer.text.replace("&#39;", "'")
    if action == "identities":
        assert data["value"] in answer.text  # what was typed is kept
    assert console.app.customer("BETA").identities == []


def test_forms_without_the_csrf_token_are_refused(console: Console) -> None:
    sign_in(console.client, AGENT)
    answer = console.client.post("/console/customers/ACME/profile", data={"name": "x"})
    assert answer.status_code == 403
    assert console.app.customer("ACME").name == "艾克美"


def test_the_customer_list_finds_a_number_however_it_is_spelt(console: Console) -> None:
    sign_in(console.client, AGENT)
    for spelling in ("010-66550101", "+86 10 6655 0101", "艾克美"):
        page = console.client.get("/console/customers", params={"q": spelling}).text
        assert 'data-customer="ACME"' in page, spelling
        assert 'data-customer="BETA"' not in page


def test_admins_manage_teams_and_see_their_queues(console: Console) -> None:
    sign_in(console.client, ADMIN)
    assert 'href="/console/teams"' in console.client.get("/console").text  # in the sidebar
    flashed(console, console.post("/console/teams/create", {"code": "hotline", "name": "热线"},
                                  "/console/teams"), "Team created.")
    flashed(console, console.post("/console/teams/hotline/members", {"email": AGENT},
                                  "/console/teams"), "Member added.")
    reference = str(console.app.handle(OpenRequest("ACME", "support", "卡纸", actor=AGENT)))
    console.app.handle(Transfer(reference, "team:hotline", "hotline's", actor=AGENT))
    console.project()
    page = console.client.get("/console/teams").text
    assert 'data-member="agent@desk.cn"' in page
    assert 'data-open-count="1"' in page
    # Refusals: a code taken, a bad code, a member twice, removing a non-member.
    answer = console.post("/console/teams/create", {"code": "hotline", "name": "x"},
                          "/console/teams")
    assert answer.status_code == 409 and "already exists" in answer.text
    answer = console.post("/console/teams/create", {"code": "Hot Line", "name": "x"},
                          "/console/teams")
    assert answer.status_code == 400 and 'value="Hot Line"' in answer.text
    answer = console.post("/console/teams/hotline/members", {"email": AGENT}, "/console/teams")
    assert answer.status_code == 422 and "already a member" in answer.text
    answer = console.post("/console/teams/hotline/members/remove", {"email": REP},
                          "/console/teams")
    assert answer.status_code == 404 and "is not a member" in answer.text
    flashed(console, console.post("/console/teams/hotline/members/remove", {"email": AGENT},
                                  "/console/teams"), "Member removed.")
    assert load_team(console.app.store, "hotline").members == []
    console.app.handle(CreateTeam("quality", "质量", actor=ADMIN))
    assert "质量" in console.client.get("/console/teams").text


def test_agents_may_not_manage_teams(console: Console) -> None:
    sign_in(console.client, AGENT)
    assert console.client.get("/console/teams").status_code == 403
    assert 'href="/console/teams"' not in console.client.get("/console").text
