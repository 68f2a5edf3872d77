"""Customer upkeep over the JSON API (issue 15, item 10) on SQLite and PostgreSQL:
the profile, contacts, identities, the dedicated representative and merging a
provisional customer; every refused step; phone and fax numbers in E.164, also
for identities a store recorded before numbers were normalised."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain import phones
from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.users.commands import AddUser, DeactivateUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.registry import open_read_models

AGENT, REP, GONE, ADMIN = "agent@desk.cn", "rep@desk.cn", "gone@desk.cn", "root@desk.cn"
CUSTOMER = "li@acme.cn"


@pytest.fixture
def api(app: Ledgerdesk, store: Database, tmp_path: Path) -> Iterator[TestClient]:
    for email, roles in ((AGENT, ["agent"]), (REP, ["agent"]), (GONE, ["agent"]),
                         (ADMIN, ["admin"])):
        app.handle(AddUser(email, roles, actor="setup"))
    app.handle(DeactivateUser(GONE, actor="setup"))
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup",
                                identities=[("phone", "010-66550101")]))
    app.handle(AddUser(CUSTOMER, ["customer"], actor="setup", customer_code="ACME"))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    token = app.handle(IssueToken(AGENT, actor="setup"))
    with TestClient(create_app(app, models),
                    headers={"Authorization": f"Bearer {token}"}) as client:
        yield client
    models.close()


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return client.post("/api/v1" + path, json=body)


def refused(answer: Any, status: int, field: str | None = None) -> str:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    if field is not None:
        assert field in error["fields"], error
    return str(error["message"])


def test_profile_contacts_identities_and_representative(api: TestClient,
                                                        app: Ledgerdesk) -> None:
    answer = api.post("/api/v1/customers/ACME/profile",
                       json={"name": "艾克美科技", "classification": "key_account",
                             "region": "华北"})
    assert answer.status_code == 200, answer.text
    customer = app.customer("ACME")
    assert (customer.name, customer.classification) == ("艾克美科技", "key_account")
    assert customer.profile["region"] == "华北"

    answer = post(api, "/customers/ACME/contacts",
                  {"name": "李工", "department": "设备科", "phone": "138 0000 0001",
                   "email": "li.gong@acme.cn"})
    assert answer.status_code == 201, answer.text
    contact = answer.json()["contact_id"]
    assert app.customer("ACME").contacts[contact]["phone"] == "+8613800000001"
    assert post(api, "/customers/ACME/contacts/remove",
                {"contact_id": contact}).status_code == 200
    assert app.customer("ACME").contacts == {}

    answer = post(api, "/customers/ACME/identities", {"kind": "fax", "value": "(010) 6655-0199"})
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"kind": "fax", "value": "+861066550199"}
    found = app.customer_by_identity("fax", "+86 10 6655 0199")
    assert found is not None and found.code == "ACME"
    assert post(api, "/customers/ACME/identities/remove",
                {"kind": "fax", "value": "010-66550199"}).status_code == 200
    assert app.customer_by_identity("fax", "+861066550199") is None

    answer = post(api, "/customers/ACME/representative", {"representative": "REP@desk.cn"})
    assert answer.status_code == 200, answer.text
    assert app.customer("ACME").representative == REP
    assert post(api, "/customers/ACME/representative",
                {"representative": None}).status_code == 200
    assert app.customer("ACME").representative is None


def test_every_refused_upkeep_step(api: TestClient, app: Ledgerdesk) -> None:
    for method, path, body in (
        ("POST", "/customers/NOPE/profile", {"name": "x"}),
        ("POST", "/customers/NOPE/contacts", {"name": "x"}),
        ("POST", "/customers/NOPE/identities", {"kind": "email", "value": "x@y.cn"}),
        ("POST", "/customers/NOPE/representative", {"representative": REP}),
        ("POST", "/customers/NOPE/merge", {"into": "ACME"}),
    ):
        assert "NOPE" in refused(api.request(method, "/api/v1" + path, json=body), 404)
    refused(api.post("/api/v1/customers/ACME/profile", json={"name": "  "}), 400, "name")
    refused(api.post("/api/v1/customers/ACME/profile", json={"kind": "robot"}), 400, "kind")
    refused(api.post("/api/v1/customers/ACME/profile", json={"colour": "red"}), 400, "colour")
    refused(post(api, "/customers/ACME/contacts", {"name": ""}), 400, "name")
    refused(post(api, "/customers/ACME/contacts", {"name": "王", "phone": "call me"}),
            400, "phone")
    refused(post(api, "/customers/ACME/contacts", {"name": "王", "email": "no-at"}),
            400, "email")
    assert "no contact" in refused(post(api, "/customers/ACME/contacts/remove",
                                        {"contact_id": "abc"}), 404)
    refused(post(api, "/customers/ACME/identities", {"kind": "pigeon", "value": "x"}),
            400, "kind")
    refused(post(api, "/customers/ACME/identities", {"kind": "phone", "value": "+999 1"}),
            400, "value")
    refused(post(api, "/customers/ACME/identities", {"kind": "email", "value": "nobody"}),
            400, "email")
    # Unlinking what the customer does not have.
    assert "has no email identity" in refused(post(
        api, "/customers/ACME/identities/remove", {"kind": "email", "value": "x@acme.cn"}), 404)
    # An identity held by another customer: 409, however the number is spelt.
    app.handle(RegisterCustomer("BETA", "Beta", actor="setup"))
    message = refused(post(api, "/customers/BETA/identities",
                           {"kind": "phone", "value": "+86 10 6655 0101"}), 409)
    assert "already belongs to customer ACME" in message
    assert app.customer("BETA").identities == []
    # The representative: an active member of staff.
    refused(post(api, "/customers/ACME/representative", {"representative": CUSTOMER}),
            400, "representative")
    refused(post(api, "/customers/ACME/representative", {"representative": GONE}),
            400, "representative")
    refused(post(api, "/customers/ACME/representative", {"representative": "who@x.cn"}), 404)
    refused(post(api, "/customers/ACME/representative", {}), 400, "representative")
    # Merging: only a provisional customer, only into a registered one.
    assert "not provisional" in refused(post(api, "/customers/BETA/merge", {"into": "ACME"}),
                                        422)
    app.handle(RegisterCustomer("P-1", "Stranger", actor="setup", classification="provisional"))
    app.handle(RegisterCustomer("P-2", "Stranger", actor="setup", classification="provisional"))
    assert "provisional too" in refused(post(api, "/customers/P-1/merge", {"into": "P-2"}), 422)
    assert "itself" in refused(post(api, "/customers/P-1/merge", {"into": "P-1"}), 422)
    assert "NOPE" in refused(post(api, "/customers/P-1/merge", {"into": "NOPE"}), 404)
    assert app.customer("P-1").merged_into is None


def test_merging_a_provisional_customer_moves_identities_and_requests(
    api: TestClient, app: Ledgerdesk
) -> None:
    answer = post(api, "/calls", {"call_id": "cti-1", "direction": "inbound",
                                  "number": "0755-2345 6789",
                                  "started_at": "2026-11-23T09:00:00+08:00", "notes": "卡纸"})
    assert answer.status_code == 201, answer.text
    reference = answer.json()["reference"]
    stranger = app.service_request(reference).customer_code
    assert app.customer(stranger).provisional
    answer = post(api, f"/customers/{stranger}/merge", {"into": "ACME"})
    assert answer.status_code == 200, answer.text
    assert app.service_request(reference).customer_code == "ACME"
    found = app.customer_by_identity("phone", "+86 755 2345 6789")
    assert found is not None and found.code == "ACME"
    # Once merged, the provisional customer is not changed or merged again.
    assert "merged into ACME" in refused(post(api, f"/customers/{stranger}/merge",
                                              {"into": "ACME"}), 422)
    assert "merged into ACME" in refused(api.post(f"/api/v1/customers/{stranger}/profile",
                                                   json={"name": "x"}), 422)


def test_numbers_are_one_identity_in_every_spelling(api: TestClient, app: Ledgerdesk) -> None:
    for spelling in ("010-66550101", "+86 10 6655 0101", "+861066550101", "(010) 66550101"):
        found = app.customer_by_identity("phone", spelling)
        assert found is not None and found.code == "ACME", spelling
    answer = post(api, "/customers", {"code": "GAMMA", "name": "Gamma",
                                      "phones": ["+86 10 6655 0101"]})
    assert "already belongs to customer ACME" in refused(answer, 409)
    answer = post(api, "/customers", {"code": "GAMMA", "name": "Gamma",
                                      "fax_numbers": ["010-6655 0102"]})
    assert answer.status_code == 201, answer.text
    assert app.customer("GAMMA").identities == ["fax:+861066550102"]
    # A call from the number, however the switchboard spells it, is ACME's.
    answer = post(api, "/calls", {"call_id": "cti-2", "direction": "inbound",
                                  "number": "+86 10 6655 0101",
                                  "started_at": "2026-11-23T09:00:00+08:00"})
    assert app.service_request(answer.json()["reference"]).customer_code == "ACME"
    # Numbers nobody can read are a 400 naming the field.
    refused(post(api, "/customers", {"code": "DELTA", "name": "D", "phones": ["+999 123"]}),
            400, "phones")
    refused(post(api, "/customers", {"code": "DELTA", "name": "D", "fax_numbers": ["1"]}),
            400, "fax_numbers")
    refused(post(api, "/calls", {"call_id": "cti-3", "direction": "inbound", "number": "+0 1",
                                 "started_at": "2026-11-23T09:00:00+08:00"}), 400, "number")


def test_an_identity_recorded_before_numbers_were_normalised_is_still_found(
    api: TestClient, app: Ledgerdesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as before:
        # As Ledgerdesk wrote numbers before E.164: the digits as typed.
        before.setattr(phones, "normalise_number",
                       lambda number, region="CN": phones.digits_as_typed(number))
        app.handle(RegisterCustomer("OLD", "Old Ltd", actor="setup",
                                    identities=[("phone", "010-88880101")]))
    assert app.customer("OLD").identities == ["phone:01088880101"]  # as it was stored
    found = app.customer_by_identity("phone", "+86 10 8888 0101")
    assert found is not None and found.code == "OLD"
    # Calls, other customers and unlinking all meet the old identity.
    answer = post(api, "/calls", {"call_id": "cti-old", "direction": "inbound",
                                  "number": "+86 10 8888 0101",
                                  "started_at": datetime(2026, 11, 23, 1, tzinfo=UTC).isoformat()})
    assert app.service_request(answer.json()["reference"]).customer_code == "OLD"
    refused(post(api, "/customers/ACME/identities",
                 {"kind": "phone", "value": "+861088880101"}), 409)
    assert post(api, "/customers/OLD/identities",
                {"kind": "phone", "value": "010 8888 0101"}).status_code == 201
    assert app.customer("OLD").identities == ["phone:01088880101"]  # linked once
    assert post(api, "/customers/OLD/identities/remove",
                {"kind": "phone", "value": "+86 10 8888 0101"}).status_code == 200
    assert app.customer("OLD").identities == []
    assert app.customer_by_identity("phone", "010-88880101") is None
    assert post(api, "/customers/ACME/identities",
                {"kind": "phone", "value": "010-88880101"}).status_code == 201
    found = app.customer_by_identity("phone", "01088880101")
    assert found is not None and found.code == "ACME"


def test_customers_and_auditors_may_not_change_customers(app: Ledgerdesk, api: TestClient) -> None:
    token = app.handle(IssueToken(CUSTOMER, actor="setup"))
    answer = api.post("/api/v1/customers/ACME/profile", json={"name": "mine now"},
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403
    assert app.customer("ACME").name == "艾克美"
