"""Automatic mail on either side changes nothing a person did (issue 9, items 4 and 5),
on both stores: an out-of-office on a settled thread leaves it settled, and the
desk's own acknowledgement is neither the first response nor whom a reply answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import ChangeStatus, InboundMessage, QueueReply, RecordInbound
from ledgerdesk.config import Database, Settings
from projections import outbox
from projections.registry import ReadModels, open_read_models

AGENT = "agent@desk.cn"


@pytest.fixture
def models(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[ReadModels]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    opened = open_read_models(settings, app)
    yield opened
    opened.close()


def catch_up(models: ReadModels) -> None:
    for projector in models.projectors:
        projector.catch_up()


def mail(app: Ledgerdesk, message_id: str, *hints: str, automatic: bool = False,
         sender: str = "li@acme.cn") -> str:
    return str(app.handle(RecordInbound(InboundMessage(
        channel="email", external_id=message_id, sender=sender, subject="卡纸", body="text",
        thread_hints=hints, automatic=automatic))).reference)


@pytest.fixture
def thread(app: Ledgerdesk) -> str:
    app.handle(RegisterCustomer("ACME", "Acme", actor="t", identities=[
        ("email", "li@acme.cn"), ("email", "ooo@acme.cn")]))
    return mail(app, "<first@acme.cn>")


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_an_out_of_office_leaves_a_settled_thread_settled(
    app: Ledgerdesk, thread: str, status: str
) -> None:
    app.handle(ChangeStatus(thread, status, actor=AGENT))
    assert mail(app, "<ooo@acme.cn>", thread, automatic=True) == thread
    assert app.service_request(thread).status == status
    # A person writing again does reopen (resolved) or follow up (closed).
    again = mail(app, "<again@acme.cn>", thread)
    if status == "resolved":
        assert again == thread and app.service_request(thread).status == "open"
    else:
        assert again != thread and app.service_request(again).follow_up_of == thread


def test_the_acknowledgement_is_not_the_first_response_and_an_ooo_is_not_answered(
    app: Ledgerdesk, thread: str, models: ReadModels
) -> None:
    app.handle(QueueReply(thread, "已收到", actor="ledgerdesk:acknowledge", automatic=True))
    mail(app, "<ooo2@acme.cn>", thread, automatic=True, sender="ooo@acme.cn")
    catch_up(models)
    (row,) = models["reports"].query("SELECT first_response_seconds FROM report_requests")
    assert row["first_response_seconds"] is None
    app.handle(QueueReply(thread, "工程师明天到", actor=AGENT, reply_id="r1"))
    catch_up(models)
    rows = {r["reply_id"]: r for r in outbox.rows(models["outbox"], thread)}
    assert rows["r1"]["recipient"] == "li@acme.cn"  # the person, not the autoresponder
    (row,) = models["reports"].query("SELECT first_response_seconds FROM report_requests")
    assert row["first_response_seconds"] is not None
