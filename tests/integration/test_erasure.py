"""Erasure by crypto-shredding (issue 10), on SQLite and PostgreSQL.

A customer with email, call, note, reply and installed-base history, and a
provisional customer merged into them, is erased by an admin over HTTP.  Their
personal data must then be unreadable everywhere it was readable (the event
store's rows, every read model, the API, the audit export), while the history
keeps its shape, `audit verify` passes, other customers are untouched, and a
rebuild of every read model gives the same rows as the live redaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.customers.commands import (
    EraseCustomer,
    MergeCustomer,
    RegisterCustomer,
    UpdateCustomer,
)
from domain.errors import CustomerWasErased
from domain.installed_base.commands import RegisterProduct, UpdateProduct
from domain.requests.commands import (
    AddNote,
    InboundMessage,
    LogCall,
    OpenRequest,
    QueueReply,
    RecordInbound,
)
from domain.sealing import KeyStoreError
from domain.users.commands import AddUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from ledgerdesk.keys import key_store_path, new_master_key
from ledgerdesk.persistence import event_store_env
from projections.registry import ReadModels, open_read_models
from projections.runner import rebuild_together

ADMIN, AGENT = "admin@desk.cn", "agent@desk.cn"
ADDRESS, OTHER_ADDRESS, STRANGER = "zhang.wei@example.cn", "wang@example.cn", "zw@home.example"
# Text only the erased customer's history holds.
NEEDLES = ("张伟", ADDRESS, STRANGER, "朝阳区建国路88号", "复印机卡纸了很多次", "回电13800138000",
           "客户说打印机在三楼", "我家里的旧地址", "13800138000", "ZW-PRIVATE-SUBJECT",
           "zw@example.cn")
# The other customer's, which must stay readable.
KEPT = ("王芳", "另一位客户的问题")


@pytest.fixture
def desk(app: Ledgerdesk) -> Ledgerdesk:
    return populated(app)


def populated(app: Ledgerdesk) -> Ledgerdesk:
    app.handle(AddUser(ADMIN, ["admin"], actor="setup"))
    app.handle(AddUser(AGENT, ["agent"], actor=ADMIN))
    app.handle(RegisterCustomer("ZHANG", "张伟", actor=AGENT, kind="person",
                                identities=[("email", ADDRESS), ("phone", "+86 138 0013 8000")]))
    app.handle(UpdateCustomer("ZHANG", {"address": "朝阳区建国路88号"}, actor=AGENT))
    app.handle(RegisterCustomer("WANG", "王芳", actor=AGENT, identities=[("email", OTHER_ADDRESS)]))
    app.handle(AddUser("zw@example.cn", ["customer"], actor=ADMIN, customer_code="ZHANG"))
    app.handle(RegisterProduct("SN-ZW-1", "MX-3000", "ZHANG", actor=AGENT, name="三楼打印机",
                               install_address="朝阳区建国路88号", installed_on="2024-01-02"))
    app.handle(UpdateProduct("SN-ZW-1", {"warranty_until": "2027-01-01"}, actor=AGENT))
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    recorded = app.handle(RecordInbound(InboundMessage(
        channel="email", external_id="<m1@example.cn>", sender=ADDRESS, sender_name="张伟",
        subject="ZW-PRIVATE-SUBJECT 复印机", body="复印机卡纸了很多次，请回电13800138000",
        occurred_at=now, details={"message_id": "<m1@example.cn>"})))
    reference = recorded.reference
    app.handle(LogCall("call-1", "inbound", "+86 138 0013 8000", now, actor=AGENT,
                       notes="回电13800138000", reference=reference))
    app.handle(AddNote(reference, "客户说打印机在三楼", actor=AGENT))
    app.handle(QueueReply(reference, "张伟您好，我们明天上门", actor=AGENT))
    # A stranger's message, whose provisional customer is then merged into ZHANG.
    stranger = app.handle(RecordInbound(InboundMessage(
        channel="email", external_id="<m2@home.example>", sender=STRANGER, subject="旧地址",
        body="我家里的旧地址", occurred_at=now)))
    app.handle(MergeCustomer(stranger.customer_code, "ZHANG", actor=AGENT))
    other = app.handle(OpenRequest("WANG", "support", "另一位客户的问题", actor=AGENT,
                                   description="另一位客户的问题"))
    app.handle(AddNote(other, "王芳 的备注", actor=AGENT))
    return app


@pytest.fixture
def api(store: Database, desk: Ledgerdesk, tmp_path: Path
        ) -> Iterator[tuple[TestClient, dict[str, str], ReadModels]]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b", secret_key="k")
    tokens = {who: desk.handle(IssueToken(who, actor=ADMIN))
              for who in (ADMIN, AGENT, "zw@example.cn")}
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


def view_rows(models: ReadModels) -> dict[str, list[str]]:
    """Every row of every read model table, as sorted JSON lines."""
    dump = {}
    for projector in models.projectors:
        for table in projector.storage.view.tables:
            rows = projector.storage.query(f"SELECT * FROM {table}")
            dump[table] = sorted(json.dumps(r, sort_keys=True, ensure_ascii=False, default=str)
                                 for r in rows)
    return dump


def stored_states(store: Database) -> list[bytes]:
    """The raw state of every stored event, as the database holds it."""
    if store.kind == "sqlite":
        assert store.path is not None
        with sqlite3.connect(store.path) as conn:
            return [bytes(s) for (s,) in conn.execute("SELECT state FROM stored_events")]
    with psycopg.connect(host=store.host, port=store.port, user=store.user,
                         dbname=store.name) as conn:
        return [bytes(s) for (s,) in conn.execute("SELECT state FROM ledgerdesk_events")]


def spellings(needle: str) -> list[bytes]:
    return [needle.encode(), json.dumps(needle).strip('"').encode()]


def leaks(haystack: str | bytes, needles: tuple[str, ...] = NEEDLES) -> list[str]:
    data = haystack.encode() if isinstance(haystack, str) else haystack
    return [n for n in needles if any(s in data for s in spellings(n))]


def test_personal_data_never_reaches_the_event_store_in_clear(
    store: Database, desk: Ledgerdesk
) -> None:
    states = b"\n".join(stored_states(store))
    assert leaks(states) == [] and leaks(states, KEPT) == []
    assert b'"_sealed_"' in states
    # ...yet the application reads it all back.
    assert desk.customer("ZHANG").name == "张伟"


def test_erasure_leaves_nothing_readable_and_the_history_intact(
    store: Database, desk: Ledgerdesk, api: tuple[TestClient, dict[str, str], ReadModels]
) -> None:
    client, tokens, models = api
    # The customer opens a request on the portal: they act as a channel actor,
    # sealed like the rest of their data.
    opened = call(client, tokens["zw@example.cn"], "POST", "/service-requests",
                  json={"customer_code": "ZHANG", "type": "repair",
                        "subject": "ZW-PRIVATE-SUBJECT 2"})
    assert opened.status_code == 201, opened.text
    assert leaks(b"\n".join(stored_states(store))) == []
    sync(models)
    reference = next(r["reference"] for r in call(
        client, tokens[AGENT], "GET", "/customers/ZHANG/360").json()["open_requests"]
        if r["subject"] == "ZW-PRIVATE-SUBJECT 复印机")
    before = call(client, tokens[AGENT], "GET", f"/service-requests/{reference}").json()
    assert leaks(json.dumps(view_rows(models), ensure_ascii=False))  # the views had it all
    events_before = len(stored_states(store))

    assert call(client, tokens[AGENT], "POST", "/customers/ZHANG/erase",
                json={"reason": "PIPL request 2026-117"}).status_code == 403
    answer = call(client, tokens[ADMIN], "POST", "/customers/ZHANG/erase",
                  json={"reason": "PIPL request 2026-117"})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["codes"]) == 2  # ZHANG and the provisional customer merged in
    again = call(client, tokens[ADMIN], "POST", "/customers/ZHANG/erase",
                 json={"reason": "PIPL request 2026-117"})
    assert again.status_code == 409
    sync(models)

    # Nothing of it anywhere: the read models, the API, the audit export, the store.
    assert leaks(json.dumps(view_rows(models), ensure_ascii=False)) == []
    c360 = call(client, tokens[AGENT], "GET", "/customers/ZHANG/360")
    assert c360.status_code == 200 and leaks(c360.text) == []
    assert c360.json()["profile"]["name"] == "[erased]"
    assert c360.json()["profile"]["address"] == "[erased]"
    assert c360.json()["installed_products"][0]["install_address"] == "[erased]"
    assert c360.json()["installed_products"][0]["warranty_until"] == "2027-01-01"
    after = call(client, tokens[AGENT], "GET", f"/service-requests/{reference}")
    assert after.status_code == 200 and leaks(after.text) == []
    exported = call(client, tokens[AGENT], "GET", "/audit?customer=ZHANG")
    assert exported.status_code == 200 and leaks(exported.text) == []
    assert leaks(b"\n".join(stored_states(store))) == []
    assert leaks(repr(vars(desk.customer("ZHANG")))) == []

    # The history keeps its shape: the same events, kinds, actors and times.
    # Customer.Erased, 3 identities released (2 own, 1 merged in), 1 portal user deactivated.
    assert len(stored_states(store)) == events_before + 1 + 3 + 1
    timeline = after.json()["timeline"]
    assert [t["kind"] for t in timeline] == [t["kind"] for t in before["timeline"]]
    assert [t["at"] for t in timeline] == [t["at"] for t in before["timeline"]]
    message = next(t for t in timeline if t["kind"] == "message")
    assert message["body"] == "[erased]"
    assert next(t for t in timeline if t["kind"] == "note")["actor"] == AGENT
    assert after.json()["subject"] == "[erased]"
    verified = call(client, tokens[AGENT], "GET", "/audit/verify").json()
    assert verified["intact"] is True and verified["checked"] == len(stored_states(store))
    erased_event = [e for e in exported.json()["events"] if e["type"] == "Customer.Erased"]
    assert erased_event and erased_event[0]["actor"] == ADMIN
    assert erased_event[0]["data"]["reason"] == "PIPL request 2026-117"

    # The other customer is untouched.
    other = call(client, tokens[AGENT], "GET", "/customers/WANG/360")
    assert "王芳" in other.text
    other_request = other.json()["open_requests"][0]["reference"]
    assert "另一位客户的问题" in call(client, tokens[AGENT], "GET",
                                      f"/service-requests/{other_request}").text

    # Nothing more can be written about the erased customer...
    with pytest.raises(CustomerWasErased):
        desk.handle(QueueReply(reference, "还在吗？", actor=AGENT))
    # ...and their address writing again is a stranger, with a customer of its own.
    again_recorded = desk.handle(RecordInbound(InboundMessage(
        channel="email", external_id="<m3@example.cn>", sender=ADDRESS, subject="hello",
        body="new", occurred_at=datetime(2026, 11, 21, tzinfo=UTC))))
    assert again_recorded.new_customer and again_recorded.customer_code != "ZHANG"
    sync(models)

    # A rebuild of every read model gives the same rows as the live redaction.
    live = view_rows(models)
    for projector in models.projectors:
        projector.rebuild()
    assert view_rows(models) == live
    # ...and rebuilt in step, sharing one decode of each event between the views.
    rebuild_together(models.projectors, batch_size=7)
    assert view_rows(models) == live


def test_another_process_stops_showing_an_erased_customer(
    store: Database, desk: Ledgerdesk
) -> None:
    """A second process that read the customer before the erasure learns of it
    from the key store, within the revocation poll."""
    other = Ledgerdesk(env=event_store_env(store))
    try:
        assert other.customer("ZHANG").name == "张伟"
        desk.handle(EraseCustomer("ZHANG", "PIPL request 9", actor=ADMIN))
        other.keys._next_poll = 0.0  # type: ignore[attr-defined]  # as if a second passed
        assert other.customer("ZHANG").name == "[erased]"
    finally:
        other.close()


def test_the_wrong_master_key_refuses_to_start(store: Database, desk: Ledgerdesk) -> None:
    with pytest.raises(KeyStoreError, match="does not open this key store"):
        Ledgerdesk(env=event_store_env(store, master_key=new_master_key()))


def test_a_lost_key_store_refuses_to_start(store: Database, desk: Ledgerdesk) -> None:
    desk.close()
    if store.kind == "sqlite":
        assert store.path is not None
        key_store_path(store.path).unlink()
    else:
        with psycopg.connect(host=store.host, port=store.port, user=store.user,
                             dbname=store.name, autocommit=True) as conn:
            conn.execute("DROP TABLE ledgerdesk_keys, ledgerdesk_keystore, "
                         "ledgerdesk_key_erasures")
    with pytest.raises(KeyStoreError, match=r"key store .* is missing"):
        Ledgerdesk(env=event_store_env(store))


def test_a_destroyed_key_is_gone_from_the_sqlite_key_file(tmp_path: Path) -> None:
    """SQLite keeps deleted bytes in free pages unless told not to; the key file
    is opened with secure_delete and no write-ahead log.  (PostgreSQL's key
    table is vacuumed after a destroy instead.)"""
    store = Database(kind="sqlite", path=tmp_path / "events.db")
    desk = populated(Ledgerdesk(env=event_store_env(store), reply_channels=("email", "web")))
    try:
        assert store.path is not None
        path = key_store_path(store.path)
        with sqlite3.connect(path) as conn:
            [(wrapped,)] = conn.execute(
                "SELECT wrapped FROM ledgerdesk_keys WHERE key_id = 'ZHANG'")
        assert bytes(wrapped) in path.read_bytes()
        desk.handle(EraseCustomer("ZHANG", "PIPL request 3", actor=ADMIN))
        assert bytes(wrapped) not in path.read_bytes()
    finally:
        desk.close()
