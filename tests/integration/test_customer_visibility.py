"""Customers see their conversation, not the desk's internals (issue 9, item 7),
over HTTP on both stores: no internal reasons, call notes, notes, assignees or
staff addresses; staff appear as "Support"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import (
    AddNote,
    Assign,
    ChangeStatus,
    Escalate,
    InboundMessage,
    LogCall,
    QueueReply,
    RecordInbound,
)
from domain.users.commands import AddUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.registry import open_read_models

AGENT = "wang.agent@desk.cn"
SECRETS = ("压缩机是我们批次的问题", "客户脾气差", "VIP 升级", AGENT, "等备件")


@pytest.fixture
def views(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[dict[str, Any]]:
    app.handle(RegisterCustomer("ACME", "Acme", actor="t", identities=[("email", "li@acme.cn")]))
    app.handle(AddUser(AGENT, ["agent"], actor="t"))
    app.handle(AddUser("li@acme.cn", ["customer"], actor="t", customer_code="ACME"))
    ref = app.handle(RecordInbound(InboundMessage(
        channel="email", external_id="<m1@acme.cn>", sender="li@acme.cn", subject="冷水机不制冷",
        body="请尽快上门"))).reference
    app.handle(Assign(ref, AGENT, actor=AGENT))
    app.handle(LogCall("call-1", "outbound", "+86 10 5555", datetime(2026, 11, 23, tzinfo=UTC),
                       actor=AGENT, notes="压缩机是我们批次的问题", reference=ref))
    app.handle(AddNote(ref, "客户脾气差", actor=AGENT))
    app.handle(Escalate(ref, "VIP 升级", actor=AGENT))
    app.handle(ChangeStatus(ref, "pending_customer", actor=AGENT, reason="等备件"))
    app.handle(QueueReply(ref, "工程师明天上午到", actor=AGENT))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    for projector in models.projectors:
        projector.catch_up()
    tokens = {who: app.handle(IssueToken(who, actor="t")) for who in (AGENT, "li@acme.cn")}
    with TestClient(create_app(app, models)) as client:
        def read(who: str, path: str) -> Any:
            answer = client.get("/api/v1" + path,
                                headers={"Authorization": f"Bearer {tokens[who]}"})
            assert answer.status_code == 200
            return answer.json()
        yield {who: {"request": read(who, f"/service-requests/{ref}"),
                     "360": read(who, "/customers/ACME/360")} for who in tokens}
    models.close()


def test_the_customer_sees_the_conversation_without_internal_text(
    views: dict[str, Any],
) -> None:
    seen = views["li@acme.cn"]
    shown = repr(seen)
    for secret in SECRETS:
        assert secret not in shown, secret
    timeline = seen["request"]["timeline"]
    kinds = [e["kind"] for e in timeline]
    assert "note" not in kinds and "assignment" not in kinds
    assert kinds.count("status") == 2  # escalated, then waiting for the customer
    assert [e["data"]["to"] for e in timeline if e["kind"] == "status"] == [
        "escalated", "pending_customer"]
    (reply,) = [e for e in timeline if e["kind"] == "reply"]
    assert reply["body"] == "工程师明天上午到" and reply["actor"] == "Support"
    (message,) = [e for e in timeline if e["kind"] == "message"]
    assert message["body"] == "请尽快上门" and message["actor"] == "email:li@acme.cn"
    assert seen["request"]["assignee"] == "Support"


def test_staff_still_see_everything(views: dict[str, Any]) -> None:
    shown = repr(views[AGENT])
    for secret in SECRETS:
        assert secret in shown, secret
