"""Where a reply goes, and a reply nobody can deliver refused at once (CONTRACT.md,
"Where a reply goes"), on both stores: in the domain, and over HTTP from a
deployment assembled by the composition root."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.errors import InvalidTransition
from domain.requests.commands import (
    InboundMessage,
    LogCall,
    OpenRequest,
    QueueReply,
    RecordInbound,
)
from domain.users.commands import AddUser, IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.bootstrap import Services, bootstrap
from ledgerdesk.config import Database, Settings
from ledgerdesk.persistence import event_store_env
from ledgerdesk.runtime import Runtime
from projections import outbox
from projections.registry import open_read_models

AGENT = "agent@desk.cn"


def desk_with(store: Database, *channels: str) -> Ledgerdesk:
    app = Ledgerdesk(env=event_store_env(store), reply_channels=channels)
    app.handle(RegisterCustomer("ACME", "Acme", actor="t", identities=[("email", "li@acme.cn")]))
    app.handle(RegisterCustomer("SOLO", "Solo", actor="t", identities=[("phone", "+86 139")]))
    return app


def events(app: Ledgerdesk) -> int:
    return app.recorder.max_notification_id() or 0


def test_a_reply_on_a_channel_without_a_sender_is_refused_and_records_nothing(
    store: Database,
) -> None:
    app = desk_with(store, "web")
    try:
        mail = app.handle(RecordInbound(InboundMessage(
            channel="email", external_id="<m1@acme.cn>", sender="li@acme.cn", body="卡纸",
        ))).reference
        before = events(app)
        with pytest.raises(InvalidTransition, match="no sender is configured for email") as e:
            app.handle(QueueReply(mail, "您好", actor=AGENT))
        assert e.value.code == "undeliverable"
        assert events(app) == before  # refused, not accepted and dropped
        web = app.handle(OpenRequest("ACME", "support", "portal", actor="li@acme.cn"))
        app.handle(QueueReply(web, "answered in the portal", actor=AGENT))
        assert app.service_request(web).replies
    finally:
        app.close()


def test_phone_and_fax_fall_back_to_the_customers_email_when_email_can_deliver(
    store: Database,
) -> None:
    app = desk_with(store, "web", "email")
    try:
        start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        call = app.handle(LogCall("c1", "inbound", "+86 10 1", start, actor=AGENT,
                                  customer_code="ACME")).reference
        app.handle(QueueReply(call, "回电总结", actor=AGENT))
        queued = [e for e in app.events.get(app.service_request(call).id)
                  if type(e).__name__ == "ReplyQueued"]
        assert (queued[-1].channel, queued[-1].recipient) == ("email", "li@acme.cn")
        # A customer with no address cannot be answered in writing at all.
        solo = app.handle(LogCall("c2", "inbound", "+86 139", start, actor=AGENT)).reference
        with pytest.raises(InvalidTransition, match="phone"):
            app.handle(QueueReply(solo, "x", actor=AGENT))
        with pytest.raises(InvalidTransition, match="telegram"):
            app.handle(QueueReply(call, "x", actor=AGENT, channel="telegram"))
    finally:
        app.close()


@pytest.fixture
def deployment(store: Database, tmp_path: Path) -> Iterator[tuple[Services, Runtime]]:
    """The composition root with no SMTP relay configured: email cannot deliver."""
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs",
                        secret_key="k")
    services = bootstrap(settings)
    runtime = Runtime(services)
    yield services, runtime
    runtime.close()
    services.close()


def test_over_http_an_undeliverable_reply_is_a_422_naming_the_channel(
    deployment: tuple[Services, Runtime],
) -> None:
    services, runtime = deployment
    app = services.app
    app.handle(RegisterCustomer("ACME", "Acme", actor="t", identities=[("email", "li@acme.cn")]))
    app.handle(AddUser(AGENT, ["agent"], actor="t"))
    token = app.handle(IssueToken(AGENT, actor="t"))
    mail = app.handle(RecordInbound(InboundMessage(
        channel="email", external_id="<m1@acme.cn>", sender="li@acme.cn", body="卡纸"))).reference
    web = app.handle(OpenRequest("ACME", "support", "portal", actor="li@acme.cn"))
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(app, runtime.models)) as client:
        refused = client.post(f"/api/v1/service-requests/{mail}/replies", json={"body": "hi"},
                              headers=headers)
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "undeliverable"
        assert "email" in refused.json()["error"]["message"]
        accepted = client.post(f"/api/v1/service-requests/{web}/replies",
                               json={"body": "see here"}, headers=headers)
        assert accepted.status_code == 202
    # The portal's sender delivers by showing it: the policy records the delivery.
    assert asyncio.run(runtime.policies_once()) == 1
    reply_id = accepted.json()["reply_id"]
    assert app.service_request(web).replies[reply_id] == "delivered"
    assert outbox.rows(runtime.models["outbox"], mail) == []  # nothing queued for email


def test_an_email_request_the_customer_never_wrote_to_is_answered_at_their_address(
    store: Database, tmp_path: Path,
) -> None:
    """Opened by an agent (or a complaint's result on it): no thread to answer, so
    the reply goes to the customer's email identity; once they write, from
    whatever address, the next reply answers that."""
    app = desk_with(store, "web", "email")
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    try:
        app.handle(RegisterCustomer("TWO", "Two", actor="t",
                                    identities=[("email", "a@two.cn"), ("email", "b@two.cn")]))
        reference = app.handle(OpenRequest("TWO", "complaint", "工程师迟到", actor=AGENT,
                                           channel="email"))
        app.handle(QueueReply(reference, "我们已向您致歉", actor=AGENT))
        app.handle(RecordInbound(InboundMessage(
            channel="email", external_id="<m2@two.cn>", sender="b@two.cn", body="还有一件事",
            subject=f"Re: [{reference}]", reference=reference)))
        app.handle(QueueReply(reference, "好的", actor=AGENT))
        solo = app.handle(OpenRequest("SOLO", "support", "x", actor=AGENT, channel="email"))
        with pytest.raises(InvalidTransition, match="no email address"):
            app.handle(QueueReply(solo, "x", actor=AGENT))
        for projector in models.projectors:
            projector.catch_up()
        sent = {row["body"]: row["recipient"] for row in outbox.rows(models["outbox"], reference)}
        assert sent == {"我们已向您致歉": "a@two.cn", "好的": "b@two.cn"}
    finally:
        models.close()
        app.close()
