"""The installed base: products registered by serial, their status and owner,
shown in the customer 360 and the audit trail; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.errors import AlreadyExists, InvalidInput, InvalidTransition, NotFound
from domain.installed_base.commands import (
    ChangeProductStatus,
    RegisterProduct,
    TransferProduct,
    UpdateProduct,
)
from domain.requests.commands import OpenRequest
from domain.users.commands import AddUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.registry import ReadModels, open_read_models

ADMIN, AGENT, ENGINEER = "admin@desk.cn", "agent@desk.cn", "engineer@desk.cn"


@pytest.fixture
def desk(app: Ledgerdesk) -> Ledgerdesk:
    app.handle(RegisterCustomer("ACME", "艾克美", actor=ADMIN))
    app.handle(RegisterCustomer("BETA", "Beta Ltd", actor=ADMIN))
    app.handle(AddUser(AGENT, ["agent"], actor=ADMIN))
    app.handle(AddUser(ENGINEER, ["engineer"], actor=ADMIN))
    return app


@pytest.fixture
def api(
    store: Database, desk: Ledgerdesk, tmp_path: Path
) -> Iterator[tuple[TestClient, dict[str, str], ReadModels]]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b", secret_key="k")
    desk.handle(AddUser("li@acme.cn", ["customer"], actor=ADMIN, customer_code="ACME"))
    desk.handle(AddUser("audit@desk.cn", ["auditor"], actor=ADMIN))
    tokens = {who: desk.handle(IssueToken(who, actor=ADMIN))
              for who in (AGENT, "li@acme.cn", "audit@desk.cn")}
    models = open_read_models(settings, desk)
    with TestClient(create_app(desk, models)) as client:
        yield client, tokens, models
    models.close()


def call(client: TestClient, token: str, method: str, path: str, **kw: Any) -> Any:
    return client.request(method, "/api/v1" + path,
                          headers={"Authorization": f"Bearer {token}"}, **kw)


def sync(models: ReadModels) -> None:
    for projector in models.projectors:
        projector.catch_up()


def test_register_change_and_transfer_a_product(desk: Ledgerdesk) -> None:
    serial = desk.handle(RegisterProduct(
        " MX3000-0817 ", "MX-3000", "ACME", actor=AGENT, installed_on="2024-03-18",
        warranty_until="2027-03-17", configuration={"firmware": "4.2.1"}, maintainer=ENGINEER,
    ))
    assert serial == "MX3000-0817"
    product = desk.product("mx3000-0817")  # serials are matched without regard to case
    assert product.customer_code == "ACME" and product.status == "in_service"
    assert product.in_warranty(datetime(2027, 3, 17).date()) is True
    assert product.in_warranty(datetime(2027, 3, 18).date()) is False

    desk.handle(UpdateProduct(serial, {"warranty_until": "2028-03-17",
                              "name": "一体机"}, actor=AGENT))
    desk.handle(UpdateProduct(serial, {"name": "一体机"}, actor=AGENT))  # no change, no event
    desk.handle(ChangeProductStatus(serial, "under_repair", actor=ENGINEER, reason="定影器更换"))
    desk.handle(TransferProduct(serial, "BETA", actor=AGENT))
    product = desk.product(serial)
    assert product.details["warranty_until"] == "2028-03-17"
    assert (product.status, product.customer_code) == ("under_repair", "BETA")
    names = [type(e).__name__ for e in desk.events.get(product.id)]
    assert names == ["Registered", "DetailsChanged", "StatusChanged", "OwnerChanged"]


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"serial": "x"}, "serial"),
        ({"serial": "has space"}, "serial"),
        ({"model": " "}, "model"),
        ({"warranty_until": "2027-02-30"}, "warranty_until"),
        ({"installed_on": "yesterday"}, "installed_on"),
        ({"configuration": {"nested": {"no": 1}}}, "configuration"),
    ],
)
def test_invalid_products_are_refused_naming_the_field(
    desk: Ledgerdesk, kwargs: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {"serial": "SN-1", "model": "M-1", **kwargs}
    with pytest.raises(InvalidInput) as refused:
        desk.handle(RegisterProduct(values.pop("serial"), values.pop("model"), "ACME", actor=AGENT,
                              **values))
    assert field in refused.value.fields
    assert desk.recorder.max_notification_id() == _head_before_products(desk)


def _head_before_products(desk: Ledgerdesk) -> int:
    """Nothing was written: the head is still the last event of the fixture."""
    return max(n.id for n in desk.recorder.select_notifications(start=1, limit=1000)
               if "installed_product" not in n.topic)


def test_product_refusals(desk: Ledgerdesk) -> None:
    desk.handle(RegisterProduct("SN-1", "M-1", "ACME", actor=AGENT))
    with pytest.raises(AlreadyExists):
        desk.handle(RegisterProduct("sn-1", "M-2", "BETA", actor=AGENT))
    with pytest.raises(NotFound):
        desk.handle(RegisterProduct("SN-2", "M-1", "NOBODY", actor=AGENT))
    with pytest.raises(NotFound):
        desk.handle(RegisterProduct("SN-3", "M-1", "ACME", actor=AGENT, maintainer="ghost@desk.cn"))
    with pytest.raises(NotFound):
        desk.handle(ChangeProductStatus("SN-404", "faulty", actor=AGENT))
    with pytest.raises(InvalidInput):
        desk.handle(ChangeProductStatus("SN-1", "exploded", actor=AGENT))
    with pytest.raises(InvalidInput):
        desk.handle(UpdateProduct("SN-1", {"colour": "red"}, actor=AGENT))
    with pytest.raises(InvalidTransition):
        desk.handle(TransferProduct("SN-1", "ACME", actor=AGENT))
    desk.handle(ChangeProductStatus("SN-1", "retired", actor=AGENT))
    with pytest.raises(InvalidTransition):
        desk.handle(ChangeProductStatus("SN-1", "in_service", actor=AGENT))
    # A unit registered to someone else is taken as written, like an unknown one
    # (the answer must not tell whose it is); it joins no unit's history.
    assert desk.handle(OpenRequest("BETA", "repair", "不制冷", actor=AGENT, product="sn-1"))
    assert desk.handle(OpenRequest("ACME", "repair", "不制冷", actor=AGENT, product="SN-1"))
    assert desk.handle(OpenRequest("BETA", "repair", "旧机器", actor=AGENT, product="某型号冷水机"))


def test_products_in_the_360_and_the_audit_trail_over_http(api: Any) -> None:
    client, tokens, models = api
    agent, customer, auditor = tokens[AGENT], tokens["li@acme.cn"], tokens["audit@desk.cn"]
    expired = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    created = call(client, agent, "POST", "/customers/ACME/products", json={
        "serial": "CH500-7781", "model": "CH-500", "name": "冷水机",
        "installed_on": "2021-06-01", "warranty_until": expired,
        "configuration": {"refrigerant": "R134a"}, "maintainer": ENGINEER,
    })
    assert created.status_code == 201 and created.json() == {"serial": "CH500-7781"}
    assert call(client, agent, "POST", "/customers/ACME/products",
                json={"serial": "MX-1", "model": "MX"}).status_code == 201
    assert call(client, agent, "POST", "/products/CH500-7781/status",
                json={"status": "faulty", "reason": "压缩机异响"}).status_code == 200
    assert call(client, agent, "PATCH", "/products/MX-1",
                json={"warranty_until": "2999-01-01"}).status_code == 200
    reference = call(client, agent, "POST", "/service-requests", json={
        "customer_code": "ACME", "type": "repair", "subject": "冷水机不制冷",
        "description": "压缩机异响", "product": "CH500-7781"}).json()["reference"]
    sync(models)

    view = call(client, customer, "GET", "/customers/ACME/360").json()
    products = {p["serial"]: p for p in view["installed_products"]}
    chiller = products["CH500-7781"]
    assert (chiller["status"], chiller["in_warranty"], chiller["maintainer"]) == (
        "faulty", False, ENGINEER)
    assert chiller["configuration"] == {"refrigerant": "R134a"}
    assert chiller["requests"] == [reference]
    assert products["MX-1"]["in_warranty"] is True and products["MX-1"]["requests"] == []

    assert call(client, agent, "POST", "/products/CH500-7781/transfer",
                json={"customer_code": "BETA"}).status_code == 200
    sync(models)
    after = call(client, agent, "GET", "/customers/ACME/360").json()
    assert [p["serial"] for p in after["installed_products"]] == ["MX-1"]
    beta = call(client, agent, "GET", "/customers/BETA/360").json()
    assert [p["serial"] for p in beta["installed_products"]] == ["CH500-7781"]
    # The repair history went with the unit to its new owner.
    assert beta["installed_products"][0]["requests"] == [reference]
    trail = call(client, auditor, "GET", "/audit?customer=BETA").json()["events"]
    product_events = [row["type"].rsplit(".", 1)[-1] for row in trail
                      if row["type"].startswith("InstalledProduct")]
    assert product_events == ["Registered", "StatusChanged", "OwnerChanged"]


def test_a_customer_cannot_tell_other_customers_serials_from_unknown_ones(api: Any) -> None:
    client, tokens, models = api
    agent, customer = tokens[AGENT], tokens["li@acme.cn"]
    assert call(client, agent, "POST", "/customers/BETA/products",
                json={"serial": "BETA-UNIT-1", "model": "M"}).status_code == 201
    answers = [call(client, customer, "POST", "/service-requests", json={
        "customer_code": "ACME", "type": "repair", "subject": "坏了", "product": serial})
        for serial in ("BETA-UNIT-1", "NEVER-SEEN-9")]
    assert [a.status_code for a in answers] == [201, 201]
    assert set(answers[0].json()) == set(answers[1].json()) == {"reference"}
    sync(models)
    # Quoting BETA's serial wrote nothing into BETA's unit history.
    beta = call(client, agent, "GET", "/customers/BETA/360").json()
    assert beta["installed_products"][0]["requests"] == []


@pytest.mark.parametrize(
    "method,path,body,who,status",
    [
        ("POST", "/customers/ACME/products", {"serial": "A-1", "model": "M"}, "li@acme.cn", 403),
        ("POST", "/customers/ACME/products", {"serial": "A-1", "model": "M"}, "audit@desk.cn",
         403),
        ("POST", "/customers/NOBODY/products", {"serial": "A-1", "model": "M"}, AGENT, 404),
        ("POST", "/customers/ACME/products", {"serial": "A-1"}, AGENT, 400),
        ("POST", "/customers/ACME/products", {"serial": "A-1", "model": "M",
                                              "configuration": [1]}, AGENT, 400),
        ("POST", "/products/NOPE-1/status", {"status": "faulty"}, AGENT, 404),
        ("PATCH", "/products/NOPE-1", {"name": "x"}, AGENT, 404),
        ("POST", "/products/NOPE-1/transfer", {"customer_code": "BETA"}, AGENT, 404),
    ],
)
def test_product_commands_refused_over_http(
    api: Any, method: str, path: str, body: dict[str, Any], who: str, status: int
) -> None:
    client, tokens, _ = api
    response = call(client, tokens[who], method, path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
