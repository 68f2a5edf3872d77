"""The JSON API over HTTP (in-process ASGI), every role, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.users.commands import AddUser, IssueToken
from ledgerdesk import demo
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.registry import ReadModels, open_read_models


@pytest.fixture
def api(
    store: Database, app: Ledgerdesk, tmp_path: Path
) -> Iterator[tuple[TestClient, dict[str, str], ReadModels]]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b", secret_key="k")
    tokens = demo.load(app)
    app.handle(AddUser("partner@nordic.example.com", ["partner"], actor="t",
                       customer_code="NORDIC"))
    tokens["partner"] = app.handle(IssueToken("partner@nordic.example.com", actor="t"))
    models = open_read_models(settings, app)
    with TestClient(create_app(app, models)) as client:
        yield client, tokens, models
    models.close()


def call(client: TestClient, token: str, method: str, path: str, **kw: Any) -> Any:
    return client.request(
        method, "/api/v1" + path, headers={"Authorization": f"Bearer {token}"}, **kw
    )


def sync(models: ReadModels) -> None:
    for projector in models.projectors:
        projector.catch_up()


def test_inbox_queues_filters_and_cursor_pages(api: Any) -> None:
    client, tokens, models = api
    sync(models)
    agent = tokens["agent@ledgerdesk.example"]
    everything = call(client, agent, "GET", "/inbox").json()["items"]
    assert {i["status"] for i in everything} <= {"new", "open", "pending_customer", "escalated"}
    assert len(everything) == 3  # the resolved document request is not listed
    mine = call(client, agent, "GET", "/inbox?queue=mine").json()["items"]
    assert [i["customer_code"] for i in mine] == ["HUAXIN"]
    escalated = call(client, agent, "GET", "/inbox?queue=escalated").json()["items"]
    assert [i["channel"] for i in escalated] == ["telegram"]
    assert call(client, agent, "GET", "/inbox?channel=email&queue=unassigned").json()["items"]
    first = call(client, agent, "GET", "/inbox?limit=2").json()
    second = call(client, agent, "GET", f"/inbox?limit=2&cursor={first['next_cursor']}").json()
    refs = [i["reference"] for i in first["items"] + second["items"]]
    assert refs == [i["reference"] for i in everything] and second["next_cursor"] is None


@pytest.mark.parametrize(
    "query,field",
    [
        ("queue=later", "queue"),
        ("channel=pigeon", "channel"),
        ("status=asleep", "status"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("cursor=%%%", "cursor"),
        ("cursor=bm90LWpzb24", "cursor"),
    ],
)
def test_bad_filters_are_400_naming_the_field(api: Any, query: str, field: str) -> None:
    client, tokens, _ = api
    response = call(client, tokens["agent@ledgerdesk.example"], "GET", f"/inbox?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_request_detail_timeline_and_customer_scoping(api: Any) -> None:
    client, tokens, models = api
    sync(models)
    agent, customer = tokens["agent@ledgerdesk.example"], tokens["li.wei@huaxin.example.cn"]
    ref = call(client, agent, "GET", "/inbox?queue=mine").json()["items"][0]["reference"]
    detail = call(client, agent, "GET", f"/service-requests/{ref}").json()
    kinds = [t["kind"] for t in detail["timeline"]]
    assert kinds[:2] == ["opened", "message"] and "note" in kinds and "call" in kinds
    as_customer = call(client, customer, "GET", f"/service-requests/{ref}").json()
    assert "note" not in [t["kind"] for t in as_customer["timeline"]]
    foreign = call(client, agent, "GET", "/inbox?queue=escalated").json()["items"][0]["reference"]
    hidden = call(client, customer, "GET", f"/service-requests/{foreign}")
    unknown = call(client, customer, "GET", "/service-requests/SR-999999")
    assert hidden.status_code == unknown.status_code == 404
    assert call(client, tokens["partner"], "GET", f"/service-requests/{foreign}").status_code == 200
    assert call(client, customer, "GET", "/inbox").status_code == 403
    assert call(client, tokens["partner"], "GET", "/audit?customer=NORDIC").status_code == 403


def test_customer_360(api: Any) -> None:
    client, tokens, models = api
    sync(models)
    view = call(client, tokens["agent@ledgerdesk.example"], "GET", "/customers/HUAXIN/360").json()
    assert view["profile"]["name"] == "华信精密机械有限公司"
    assert view["profile"]["representative"] == "agent@ledgerdesk.example"
    assert {"kind": "fax", "value": "+861066550199"} in view["channel_identities"]
    assert len(view["open_requests"]) == 1 and len(view["closed_requests"]) == 1
    assert [c["kind"] for c in view["recent_interactions"]][:1] == ["call"]
    units = {p["serial"]: p for p in view["installed_products"]}
    assert units["MX3000-2024-00817"]["in_warranty"] is True
    assert len(units["MX3000-2024-00817"]["requests"]) == 1  # the manual request names it
    assert (units["CH500-7781"]["status"], units["CH500-7781"]["in_warranty"]) == ("faulty", False)
    assert (
        call(client, tokens["li.wei@huaxin.example.cn"], "GET", "/customers/NORDIC/360").status_code
        == 404
    )


def test_commands_over_http_then_read_them_back(api: Any) -> None:
    client, tokens, models = api
    agent = tokens["agent@ledgerdesk.example"]
    created = call(
        client,
        agent,
        "POST",
        "/customers",
        json={"code": "ZJ01", "name": "浙江电梯", "emails": ["it@zj.example.cn"]},
    )
    assert created.status_code == 201 and created.json()["code"] == "ZJ01"
    assert (
        call(
            client, agent, "POST", "/customers", json={"code": "ZJ01", "name": "again"}
        ).status_code
        == 409
    )
    opened = call(
        client,
        agent,
        "POST",
        "/service-requests",
        json={"customer_code": "ZJ01", "type": "repair", "subject": "电梯异响"},
    )
    ref = opened.json()["reference"]
    assert (
        call(
            client, agent, "POST", f"/service-requests/{ref}/replies", json={"body": "工程师今天到"}
        ).status_code
        == 202
    )
    assert (
        call(
            client, agent, "POST", f"/service-requests/{ref}/notes", json={"body": "内部"}
        ).status_code
        == 201
    )
    assert (
        call(
            client,
            agent,
            "POST",
            f"/service-requests/{ref}/assign",
            json={"agent": "engineer@ledgerdesk.example"},
        ).status_code
        == 200
    )
    assert (
        call(
            client,
            agent,
            "POST",
            f"/service-requests/{ref}/status",
            json={"status": "pending_customer"},
        ).status_code
        == 200
    )
    stale = call(
        client,
        agent,
        "POST",
        f"/service-requests/{ref}/status",
        json={"status": "open", "expected_version": 1},
    )
    assert stale.status_code == 409
    call_body = {
        "call_id": "cti-77",
        "direction": "inbound",
        "number": "+86 571 1234",
        "started_at": "2026-11-23T09:00:00+08:00",
        "reference": ref,
    }
    first = call(client, agent, "POST", "/calls", json=call_body)
    again = call(client, agent, "POST", "/calls", json=call_body)
    assert first.status_code == again.status_code == 201 and again.json()["duplicate"]
    sync(models)
    detail = call(client, agent, "GET", f"/service-requests/{ref}").json()
    assert detail["status"] == "pending_customer" or detail["status"] == "open"
    assert [t["kind"] for t in detail["timeline"]].count("call") == 1


@pytest.mark.parametrize(
    "path,body,status",
    [
        ("/customers", {"name": "no code"}, 400),
        ("/customers", {"code": "X", "name": "x", "kind": "robot"}, 400),
        ("/service-requests", {"customer_code": "NOPE", "type": "support", "subject": "s"}, 404),
        ("/service-requests/SR-999999/notes", {"body": "x"}, 404),
        (
            "/calls",
            {"call_id": "c", "direction": "inbound", "number": "1", "started_at": "yesterday"},
            400,
        ),
    ],
)
def test_invalid_commands(api: Any, path: str, body: dict[str, Any], status: int) -> None:
    client, tokens, _ = api
    response = call(client, tokens["agent@ledgerdesk.example"], "POST", path, json=body)
    assert response.status_code == status
    assert response.json()["error"]["message"]


def test_auth_and_role_rules(api: Any) -> None:
    client, tokens, models = api
    assert client.get("/api/v1/inbox").status_code == 401
    assert call(client, "ld_nonsense", "GET", "/inbox").status_code == 401
    auditor = tokens["auditor@ledgerdesk.example"]
    sync(models)
    assert call(client, auditor, "GET", "/inbox").status_code == 200
    assert (
        call(client, auditor, "POST", "/customers", json={"code": "A1", "name": "a"}).status_code
        == 403
    )
    assert (
        call(
            client,
            tokens["li.wei@huaxin.example.cn"],
            "POST",
            "/service-requests/SR-000001/notes",
            json={"body": "x"},
        ).status_code
        == 403
    )
    agent_auth = {"Authorization": f"Bearer {tokens['agent@ledgerdesk.example']}"}
    assert (
        client.post(
            "/api/v1/customers",
            content=b"{not json",
            headers={**agent_auth, "Content-Type": "application/json"},
        ).status_code
        == 400
    )
    # Without a JSON content type the body is not even read (the contract's 415).
    assert (
        client.post("/api/v1/customers", content=b"{not json", headers=agent_auth).status_code
        == 415
    )


def test_audit_endpoints_and_openapi(api: Any) -> None:
    client, tokens, models = api
    sync(models)
    auditor = tokens["auditor@ledgerdesk.example"]
    trail = call(client, auditor, "GET", "/audit?customer=HUAXIN").json()["events"]
    assert trail[0]["type"] == "Customer.Registered"
    assert [e["position"] for e in trail] == sorted(e["position"] for e in trail)
    assert {"ServiceRequest.MessageReceived", "ServiceRequest.CallLogged"} <= {
        e["type"] for e in trail
    }
    # No filter: the whole trail, by page (issue 10 lifted the one-of rule).
    everything = call(client, auditor, "GET", "/audit?limit=5").json()
    assert [e["position"] for e in everything["events"]] == [1, 2, 3, 4, 5]
    assert everything["next_cursor"] == "5"
    assert call(client, auditor, "GET", "/audit?request=SR-999999").status_code == 404
    verified = call(client, auditor, "GET", "/audit/verify").json()
    assert verified["intact"] and verified["first_broken"] is None and verified["checked"] > 50
    spec = client.get("/openapi.json").json()
    assert "/inbox" in spec["paths"] and "/customers/{code}/360" in spec["paths"]
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_knowledge_search_over_http(api: Any) -> None:
    client, tokens, models = api
    sync(models)
    customer = tokens["li.wei@huaxin.example.cn"]
    found = call(client, customer, "GET", "/kb/search?q=卡纸").json()["items"]
    assert found[0]["article_id"] == "KB-0001"
    english = call(client, customer, "GET", "/kb/search?q=damaged toner").json()["items"]
    assert english[0]["article_id"] == "KB-0002"
    blank = call(client, customer, "GET", "/kb/search?q=")
    assert blank.status_code == 400 and "q" in blank.json()["error"]["fields"]
