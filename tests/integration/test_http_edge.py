"""The HTTP edge of /api/v1 (issue 9, items 3, 9, 10, 13, 14, 15): strict JSON,
every field checked by type, every malformed input a 400 naming it (never a
500), bodies refused while streaming (413), one error shape everywhere, JSON
only (415), unknown fields named, security headers on every answer, and a
/readyz that tells anyone the lag but no internal error text.  On both stores.

Cases that share a set-up run as subtests of one test: a store with the demo
loaded is made once per test, not once per case.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from channels.web.api import CommandRoute, command_routes
from channels.web.json_input import MAX_BODY_BYTES
from domain.aggregates.installed_product import PRODUCT_STATUSES
from domain.application import Ledgerdesk
from domain.vocabulary import CALL_DIRECTIONS, CHANNELS, REQUEST_TYPES, STATUSES
from ledgerdesk import demo
from ledgerdesk.asgi import SECURITY_HEADERS, create_app
from ledgerdesk.config import Database, Settings
from ledgerdesk.server import readiness_report
from projections.registry import ReadModels, open_read_models
from projections.runner import ProjectionThread
from read_api.openapi import OPENAPI

AGENT = "agent@ledgerdesk.example"
CUSTOMER = "li.wei@huaxin.example.cn"
SERIAL = "MX3000-2024-00817"
CALL = {"call_id": "cti-1", "direction": "inbound", "number": "+86 10 6655 0101",
        "started_at": "2026-11-23T09:00:00+08:00"}
OPEN = {"customer_code": "HUAXIN", "type": "support", "subject": "s"}
PRODUCT = {"serial": "S-1", "model": "M"}


@pytest.fixture
def models(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[ReadModels]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b", secret_key="k")
    read_models = open_read_models(settings, app)
    yield read_models
    read_models.close()


@pytest.fixture
def tokens(app: Ledgerdesk) -> dict[str, str]:
    return demo.load(app)


@pytest.fixture
def client(app: Ledgerdesk, models: ReadModels, tokens: dict[str, str]) -> Iterator[TestClient]:
    # Server errors come back as answers (not raised into the test), so a 500
    # is seen as a status like any other.
    with TestClient(create_app(app, models), raise_server_exceptions=False) as test_client:
        yield test_client


def sync(models: ReadModels) -> None:
    for projector in models.projectors:
        projector.catch_up()


def call(client: TestClient, token: str, method: str, path: str, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
    return client.request(method, "/api/v1" + path, headers=headers, **kw)


def post_raw(client: TestClient, token: str, path: str, raw: bytes,
             method: str = "POST") -> Any:
    return call(client, token, method, path, content=raw,
                headers={"Content-Type": "application/json"})


def assert_error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """The contract's error shape, the status, and (when given) the field named."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    if field is not None:
        assert field in error["fields"], error
    return dict(error)


# --- item 3: strict JSON, every field's type, JSON-safe free-form objects -----------------


def test_non_finite_numbers_are_refused_naming_the_field(
    client: TestClient, tokens: dict[str, str], subtests: pytest.Subtests
) -> None:
    agent = tokens[AGENT]
    for number in ("NaN", "Infinity", "-Infinity", "1e999"):
        with subtests.test(number=number):
            patched = post_raw(client, agent, f"/products/{SERIAL}",
                               f'{{"configuration": {{"x": {number}}}}}'.encode(), "PATCH")
            assert_error(patched, 400, "configuration")
            body = json.dumps({**CALL, "reference": "SR-000001"})[:-1] + f', "agent": {number}}}'
            assert_error(post_raw(client, agent, "/calls", body.encode()), 400, "agent")


def test_a_refused_nan_leaves_reads_working(
    client: TestClient, tokens: dict[str, str], models: ReadModels
) -> None:
    post_raw(client, tokens[AGENT], f"/products/{SERIAL}", b'{"configuration": {"x": NaN}}',
             "PATCH")
    sync(models)
    view = call(client, tokens[AGENT], "GET", "/customers/HUAXIN/360")
    assert view.status_code == 200
    units = {p["serial"]: p for p in view.json()["installed_products"]}
    assert units[SERIAL]["configuration"] == {"paper_trays": "A3+A4", "firmware": "4.2.1"}


WRONG_TYPES = [
    ("POST", "/calls", {**CALL, "agent": 5}, "agent"),
    ("POST", "/calls", {**CALL, "reference": 1}, "reference"),
    ("POST", "/calls", {**CALL, "reference": ["SR-000001"]}, "reference"),
    ("POST", "/calls", {**CALL, "notes": ["n"]}, "notes"),
    ("POST", "/calls", {**CALL, "customer_code": {"code": "HUAXIN"}}, "customer_code"),
    ("POST", "/calls", {**CALL, "ended_at": 0}, "ended_at"),
    ("POST", "/calls", {**CALL, "started_at": "2026-11-23 09:00:00+08:00"}, "started_at"),
    ("POST", "/calls", {**CALL, "started_at": "9999-12-31T23:59:59-23:59"}, "started_at"),
    ("POST", "/calls", {**CALL, "number": "no digits"}, "number"),
    ("POST", "/calls", {**CALL, "call_id": ""}, "call_id"),
    ("POST", "/service-requests", {**OPEN, "product": 7}, "product"),
    ("POST", "/service-requests", {**OPEN, "subject": 7}, "subject"),
    ("POST", "/customers", {"code": "C1", "name": "n", "emails": 0}, "emails"),
    ("POST", "/customers", {"code": "C1", "name": "n", "phones": ["none"]}, "phones"),
    ("POST", "/customers/HUAXIN/products", {**PRODUCT, "configuration": [1]}, "configuration"),
    ("POST", "/customers/HUAXIN/products", {**PRODUCT, "configuration": {"a": {"b": 1}}},
     "configuration"),
    ("POST", "/customers/HUAXIN/products", {**PRODUCT, "installed_on": 20261123},
     "installed_on"),
    ("POST", "/customers/HUAXIN/products", {**PRODUCT, "installed_on": "2026-W01-1"},
     "installed_on"),
    ("PATCH", f"/products/{SERIAL}", {"name": 5}, "name"),
    ("PATCH", f"/products/{SERIAL}", {"maintainer": ["x"]}, "maintainer"),
    ("POST", "/service-requests/SR-000001/replies", {"body": "b", "channel": ""}, "channel"),
    ("POST", "/service-requests/SR-000001/notes", {"body": "b", "expected_version": True},
     "expected_version"),
]


def test_every_field_is_checked_by_type(
    client: TestClient, tokens: dict[str, str], subtests: pytest.Subtests
) -> None:
    for method, path, body, field in WRONG_TYPES:
        with subtests.test(path=path, field=field, body=body):
            assert_error(call(client, tokens[AGENT], method, path, json=body), 400, field)


def test_free_form_objects_cannot_smuggle_event_store_encodings(
    client: TestClient, tokens: dict[str, str], app: Ledgerdesk
) -> None:
    """{"_type_", "_data_"} is how the event store marks values it encoded; stored
    in an event it would be decoded as something else (or not at all) on replay."""
    body = {"configuration": {"_type_": "datetime_iso", "_data_": "2026-01-01T00:00:00"}}
    assert_error(call(client, tokens[AGENT], "PATCH", f"/products/{SERIAL}", json=body), 400,
                 "configuration")
    assert app.product(SERIAL).details["configuration"] == {"paper_trays": "A3+A4",
                                                           "firmware": "4.2.1"}


def test_nesting_is_limited(client: TestClient, tokens: dict[str, str]) -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    response = call(client, tokens[AGENT], "POST", "/customers",
                    json={"code": "C1", "name": "n", "emails": deep})
    assert_error(response, 400, "emails")


# --- item 9: malformed input is a 400 (or 404) naming it, never a 500 ---------------------


def cursor_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MALFORMED_QUERIES = [
    ("/inbox?limit=²", "limit"),
    ("/inbox?limit=٣", "limit"),
    ("/inbox?limit=" + "9" * 5000, "limit"),
    ("/inbox?limit=3.0", "limit"),
    ("/inbox?limit=007", "limit"),
    ("/inbox?cursor=" + cursor_of(b"[" * 5000), "cursor"),
    ("/inbox?cursor=" + cursor_of(b'["\\u0000", "SR-000001"]'), "cursor"),
    ("/audit?customer=HUAXIN&limit=²", "limit"),
    ("/audit?customer=HUAXIN&cursor=²", "cursor"),
    ("/audit?customer=HUAXIN&cursor=" + str(2**63), "cursor"),
    ("/audit?customer=HUAXIN&cursor=" + str(2**70), "cursor"),
    ("/audit?customer=%00", "customer"),
    ("/kb/search?q=x&limit=²", "limit"),
    ("/kb/search?q=%00", "q"),
    ("/kb/search?q=x&kind=%00", "kind"),
]


def test_malformed_query_parameters_are_400_naming_them(
    client: TestClient, tokens: dict[str, str], subtests: pytest.Subtests
) -> None:
    for path, field in MALFORMED_QUERIES:
        with subtests.test(path=path[:80]):
            assert_error(call(client, tokens[AGENT], "GET", path), 400, field)


def test_path_parameters_no_record_can_have_are_404(
    client: TestClient, tokens: dict[str, str], subtests: pytest.Subtests
) -> None:
    for path in ("/customers/%00/360", "/customers/a%01b/360", "/service-requests/%00",
                 "/service-requests/SR-%00", "/service-requests/SR-٣٣٣٣٣٣",
                 "/audit?customer=no%20such%20code&cursor=5"):
        with subtests.test(path=path):
            assert_error(call(client, tokens[AGENT], "GET", path), 404)
    # A command refuses such a code as it refuses any text it cannot store.
    response = call(client, tokens[AGENT], "POST", "/customers/%00/products", json=PRODUCT)
    assert_error(response, 400, "customer_code")


MALFORMED_BODIES = [
    ("/calls", json.dumps({**CALL, "reference": 17}).encode(), "reference"),
    ("/service-requests",
     b'{"customer_code": "HUAXIN", "type": "support", "subject": "a\\ud800b"}', "subject"),
    ("/service-requests",
     b'{"customer_code": "HUAXIN", "type": "support", "subject": "a\\u0000b"}', "subject"),
    # An unknown field named with a lone surrogate is named back, printably.
    ("/customers", b'{"code": "C1", "name": "n", "\\ud800": 1}', "\ufffd"),
    ("/customers", b'{"code": "C1", "name": "n"', "body"),
    ("/customers", b'["code"]', "body"),
    ("/customers", b"\xff\xfe{", "body"),
    ("/customers", b'{"code": "C1", "name": "n", "emails": [' + b"1" * 5000 + b"]}", "body"),
    ("/customers", b'{"code": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "body"),
]


def test_malformed_bodies_are_400_naming_the_field(
    client: TestClient, tokens: dict[str, str], subtests: pytest.Subtests
) -> None:
    for path, raw, field in MALFORMED_BODIES:
        with subtests.test(path=path, raw=raw[:60]):
            assert_error(post_raw(client, tokens[AGENT], path, raw), 400, field)


# --- item 10: over-limit bodies are refused while streaming --------------------------------


def asgi_post(asgi: Any, path: str, headers: dict[str, str], chunks: int,
              chunk_size: int = 64 * 1024) -> tuple[int, dict[str, str], bytes, int]:
    """POST straight through ASGI with a body of `chunks` chunks, counting how
    many the app pulled: (status, headers, body, chunks read).  TestClient
    would read the whole body before the app sees any of it."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        if pulled > chunks:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": b" " * chunk_size,
                "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "server": ("testserver", 80), "client": ("127.0.0.1", 1234),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in headers.items()],
    }
    asyncio.run(asgi(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    answer_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], answer_headers, body, pulled


def test_bodies_over_the_limit_are_413_and_not_read_past_it(
    app: Ledgerdesk, models: ReadModels, tokens: dict[str, str], subtests: pytest.Subtests
) -> None:
    asgi = create_app(app, models)
    json_headers = {"content-type": "application/json"}
    chunk = 64 * 1024
    with subtests.test("streamed, no length declared"):
        headers = {"authorization": f"Bearer {tokens[CUSTOMER]}", **json_headers}
        status, answer_headers, body, pulled = asgi_post(
            asgi, "/api/v1/service-requests", headers, chunks=400, chunk_size=chunk)
        assert status == 413 and json.loads(body)["error"]["code"] == "too_large"
        assert answer_headers["x-content-type-options"] == "nosniff"
        # It stopped reading at the limit, not after the 25 MB on offer.
        assert pulled <= MAX_BODY_BYTES // chunk + 1
    for length in (str(MAX_BODY_BYTES + 1), "9" * 5000):
        with subtests.test("declared", length=length[:20]):
            headers = {"authorization": f"Bearer {tokens[AGENT]}", "content-length": length,
                       **json_headers}
            status, _, body, pulled = asgi_post(asgi, "/api/v1/customers", headers, chunks=1)
            assert status == 413 and json.loads(body)["error"]["fields"] == {
                "body": f"the request body is over {MAX_BODY_BYTES} bytes"}
            assert pulled == 0
    with subtests.test("a length that is not ASCII digits"):
        headers = {"authorization": f"Bearer {tokens[AGENT]}", "content-length": "²",
                   **json_headers}
        status, _, _, _ = asgi_post(asgi, "/api/v1/customers", headers, chunks=1, chunk_size=2)
        assert status == 400


# --- item 13: one error shape, 405 with Allow, 500 without text, 415, unknown fields -------


WRONG_METHODS = [
    ("DELETE", "/inbox", {"GET", "HEAD"}),
    ("POST", "/service-requests/SR-000001", {"GET", "HEAD"}),
    ("GET", "/calls", {"POST"}),
    ("PUT", "/products/X-1", {"GET", "HEAD", "PATCH"}),
    ("DELETE", "/quality-cases", {"GET", "HEAD", "POST"}),
    ("POST", "/healthz", {"GET", "HEAD"}),
    ("QUERY", "/readyz", {"GET", "HEAD"}),
]


def test_router_refusals_are_in_the_error_shape(
    client: TestClient, tokens: dict[str, str], subtests: pytest.Subtests
) -> None:
    for path in ("/api/v1/nope", "/nope", "/api/v1/customers/HUAXIN"):
        with subtests.test(path=path):
            response = client.get(path, headers={"Authorization": f"Bearer {tokens[AGENT]}"})
            assert assert_error(response, 404)["code"] == "not_found"
    for method, path, allowed in WRONG_METHODS:
        with subtests.test(method=method, path=path):
            response = call(client, tokens[AGENT], method, path)
            assert assert_error(response, 405)["code"] == "method_not_allowed"
            assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


def test_an_unexpected_error_is_a_500_in_the_error_shape_without_its_text(
    app: Ledgerdesk, models: ReadModels
) -> None:
    asgi = create_app(app, models)

    async def broken(request: Any) -> Any:
        raise RuntimeError("password=hunter2 at db-7.internal")

    asgi.router.routes.insert(0, Route("/broken", broken))  # before the pages' catch-all mount
    with TestClient(asgi, raise_server_exceptions=False) as test_client:
        response = test_client.get("/broken")
    assert assert_error(response, 500)["code"] == "internal"
    assert "hunter2" not in response.text and "db-7" not in response.text
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


def test_command_bodies_must_be_json(
    client: TestClient, tokens: dict[str, str], subtests: pytest.Subtests
) -> None:
    body = '{"code": "C-JSON", "name": "浙江"}'.encode()
    for refused in (None, "text/plain", "application/x-www-form-urlencoded",
                    "multipart/form-data; boundary=x", "application/json; charset=latin-1",
                    "application/jsonx"):
        with subtests.test(content_type=refused):
            headers = {"Content-Type": refused} if refused else {}
            response = call(client, tokens[AGENT], "POST", "/customers", content=body,
                            headers=headers)
            assert assert_error(response, 415, "content-type")["code"] == "unsupported_media_type"
    for n, accepted in enumerate(("application/json; charset=utf-8",
                                  'Application/JSON;charset="UTF-8"', "application/json")):
        with subtests.test(content_type=accepted):
            response = call(client, tokens[AGENT], "POST", "/customers",
                            content=body.replace(b"C-JSON", f"C-JSON-{n}".encode()),
                            headers={"Content-Type": accepted})
            assert response.status_code == 201, response.text


def test_unknown_fields_are_a_400_naming_each(
    client: TestClient, tokens: dict[str, str]
) -> None:
    response = call(client, tokens[AGENT], "POST", "/customers",
                    json={"code": "C2", "name": "n", "nmae": "typo", "profile": {}})
    assert set(assert_error(response, 400)["fields"]) == {"nmae", "profile"}
    assert_error(call(client, tokens[AGENT], "POST", "/calls", json={**CALL, "duration": 3}),
                 400, "duration")
    assert_error(call(client, tokens[AGENT], "PATCH", f"/products/{SERIAL}",
                      json={"colour": "red"}), 400, "colour")


def test_notes_honour_expected_version(
    client: TestClient, tokens: dict[str, str], app: Ledgerdesk
) -> None:
    version = app.service_request("SR-000001").version
    stale = call(client, tokens[AGENT], "POST", "/service-requests/SR-000001/notes",
                 json={"body": "late", "expected_version": version - 1})
    assert assert_error(stale, 409)["code"] == "conflict"
    fresh = call(client, tokens[AGENT], "POST", "/service-requests/SR-000001/notes",
                 json={"body": "in time", "expected_version": version})
    assert fresh.status_code == 201


# --- item 14: the document lists each command's fields and the domain's words -------------


def test_command_fields_are_the_ones_the_openapi_document_lists(app: Ledgerdesk) -> None:
    commands = [r for r in command_routes(app) if isinstance(r, CommandRoute)]
    assert len(commands) >= 11
    for route in commands:
        (method,) = route.methods or ()
        body = OPENAPI["paths"][route.path][method.lower()]["requestBody"]
        schema = body["content"]["application/json"]["schema"]
        assert set(schema.get("properties", {})) == route.fields, route.path  # NOTHING: {}
        assert schema["additionalProperties"] is False


def test_openapi_enums_come_from_the_domain() -> None:
    paths = OPENAPI["paths"]

    def body(path: str) -> dict[str, Any]:
        op = next(iter(paths[path].values()))
        return dict(op["requestBody"]["content"]["application/json"]["schema"]["properties"])

    assert body("/service-requests")["type"]["enum"] == list(REQUEST_TYPES)
    assert body("/service-requests")["channel"]["enum"] == list(CHANNELS)
    assert set(body("/service-requests/{ref}/status")["status"]["enum"]) == set(STATUSES) - {"new"}
    assert body("/products/{serial}/status")["status"]["enum"] == list(PRODUCT_STATUSES)
    assert body("/calls")["direction"]["enum"] == list(CALL_DIRECTIONS)
    inbox = {p["name"]: p["schema"] for p in paths["/inbox"]["get"]["parameters"]}
    assert inbox["status"]["enum"] == ["", *STATUSES]  # empty: no filter
    for path, operations in paths.items():
        for method, op in operations.items():
            codes = set(op["responses"])
            assert "405" in codes, (method, path)
            if "requestBody" in op:
                assert {"400", "413", "415"} <= codes, (method, path)


# --- item 15: security headers, and a /readyz without internal text -----------------------


def test_every_answer_carries_the_security_headers(
    client: TestClient, tokens: dict[str, str]
) -> None:
    agent = {"Authorization": f"Bearer {tokens[AGENT]}"}
    answers = [
        client.get("/api/v1/inbox", headers=agent),  # 200
        client.get("/api/v1/inbox?limit=0", headers=agent),  # 400
        client.get("/api/v1/inbox"),  # 401
        client.get("/api/v1/inbox", headers={"Authorization": "Bearer ld_forged"}),  # 401
        client.get("/api/v1/inbox", headers={"Authorization": f"Bearer {tokens[CUSTOMER]}"}),
        client.get("/api/v1/nope", headers=agent),  # 404
        client.delete("/api/v1/inbox", headers=agent),  # 405
        client.post("/api/v1/customers", headers=agent, content=b"x"),  # 415
        client.get("/healthz"), client.get("/readyz"), client.get("/api/v1/openapi.json"),
    ]
    assert [a.status_code for a in answers] == [200, 400, 401, 401, 403, 404, 405, 415,
                                                 200, 200, 200]
    for answer in answers:
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (answer.request.url, name)


def test_readyz_shows_lag_and_positions_to_anyone(
    client: TestClient, models: ReadModels
) -> None:
    sync(models)
    for path in ("/readyz", "/api/v1/readyz"):
        answer = client.get(path)
        assert answer.status_code == 200
        report = answer.json()
        assert report["ready"] is True and set(report["lag"]) == set(report["positions"])
        assert all(lag == 0 for lag in report["lag"].values())
        assert report["head"] > 0 and all(count == 0 for count in report["failures"].values())


def test_readyz_never_shows_an_exception_text(app: Ledgerdesk, models: ReadModels) -> None:
    def broken() -> tuple[bool, dict[str, Any]]:
        raise RuntimeError("connection to db-7.internal:5432 failed for user ledger")

    with TestClient(create_app(app, models, broken)) as test_client:
        answer = test_client.get("/readyz")
    assert answer.status_code == 503 and answer.json()["ready"] is False
    assert "db-7" not in answer.text and "ledger" not in answer.text


def test_a_stalled_view_is_named_in_readyz_without_its_error(models: ReadModels) -> None:
    runner = ProjectionThread(models.projectors)
    runner.failures["inbox"] = "relation inbox: NUL in subject of customer SECRET-CO"
    ready, detail = readiness_report(runner, ["email"])
    assert ready is False and detail["stalled"] == ["inbox"] and detail["running"] == ["email"]
    assert "SECRET" not in json.dumps(detail)
