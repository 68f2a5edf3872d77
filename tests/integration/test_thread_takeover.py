"""Nobody joins a thread by guessing its reference (issue 9, item 2), on both stores.

References are sequential and Message-IDs leak in quoted mail, so a claim a
message makes ([SR-…] in a subject, an In-Reply-To, a reference on a fax) only
threads it when its sender is known to the request.  Anyone else gets a request
of their own that records the claim, and the agent's next reply still goes to
the customer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.application import Ledgerdesk
from domain.customers.commands import AddContact, RegisterCustomer
from domain.requests.commands import (
    ChangeStatus,
    FaxPage,
    InboundMessage,
    QueueReply,
    RecordFax,
    RecordInbound,
)
from ledgerdesk.config import Database, Settings
from projections import outbox
from projections.registry import ReadModels, open_read_models

AGENT = "agent@desk.cn"


@pytest.fixture
def models(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[ReadModels]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs",
                        secret_key="k")
    opened = open_read_models(settings, app)
    yield opened
    opened.close()


def catch_up(models: ReadModels) -> None:
    for projector in models.projectors:
        projector.catch_up()


def mail(app: Ledgerdesk, sender: str, message_id: str, *hints: str, subject: str = "") -> str:
    return str(app.handle(RecordInbound(InboundMessage(
        channel="email", external_id=message_id, sender=sender, body="text",
        subject=subject, thread_hints=hints,
    ))).reference)


def kinds(app: Ledgerdesk, reference: str) -> list[str]:
    return [type(e).__name__ for e in app.events.get(app.service_request(reference).id)]


@pytest.fixture
def thread(app: Ledgerdesk) -> str:
    app.handle(RegisterCustomer("ACME", "Acme", actor="t", identities=[("email", "li@acme.cn")]))
    return mail(app, "li@acme.cn", "<first@acme.cn>", subject="打印机卡纸")


def test_an_outsider_naming_a_reference_gets_a_request_of_their_own(
    app: Ledgerdesk, thread: str, models: ReadModels
) -> None:
    app.handle(ChangeStatus(thread, "resolved", actor=AGENT))
    before = kinds(app, thread)

    by_subject = mail(app, "mallory@evil.example", "<x1@evil>", thread, subject=f"Re: [{thread}]")
    by_header = mail(app, "mallory@evil.example", "<x2@evil>", "<first@acme.cn>")

    assert by_subject != thread and by_header not in (thread, by_subject)
    assert kinds(app, thread) == before  # not joined, and not reopened
    assert app.service_request(thread).status == "resolved"
    claimant = app.service_request(by_subject)
    assert claimant.customer_code != "ACME"
    assert "ReferenceClaimed" in kinds(app, by_subject)
    assert "ReferenceClaimed" in kinds(app, by_header)

    # The agent sees the claim on the new request's timeline.
    catch_up(models)
    timeline = models["timeline"].query("SELECT kind, body FROM timeline ORDER BY position")
    assert {"kind": "claim", "body": f"claims {thread}"} in timeline


def test_the_agents_reply_goes_to_the_customer_not_to_whoever_wrote_last(
    app: Ledgerdesk, thread: str, models: ReadModels
) -> None:
    mail(app, "mallory@evil.example", "<x3@evil>", "<first@acme.cn>", thread)
    app.handle(QueueReply(thread, "您好", actor=AGENT, reply_id="r1"))
    catch_up(models)
    (row,) = outbox.rows(models["outbox"], thread)
    assert row["recipient"] == "li@acme.cn"


def test_the_customer_and_their_contacts_continue_the_thread(
    app: Ledgerdesk, thread: str
) -> None:
    app.handle(AddContact("ACME", "Wang", actor="t", email="Wang@Acme.cn"))
    assert mail(app, "li@acme.cn", "<second@acme.cn>", "<first@acme.cn>") == thread
    assert mail(app, "wang@acme.cn", "<third@acme.cn>", thread) == thread
    assert "ReferenceClaimed" not in kinds(app, thread)


def test_a_fax_naming_a_reference_joins_only_from_a_known_number(
    app: Ledgerdesk, thread: str
) -> None:
    app.handle(AddContact("ACME", "Fax room", actor="t", phone="010-5555"))
    image = {"sha256": "a" * 64, "filename": "fax.tif", "content_type": "image/tiff", "size": 1}
    known = FaxPage(external_id="f" * 64, sender_number="010-5555", image=image,
                    ocr_text=f"{thread} 仍然卡纸", confidence=0.9, pages=1, reference=thread)
    stranger = FaxPage(external_id="e" * 64, sender_number="021-9999", image=image,
                       ocr_text=f"{thread} 退款", confidence=0.9, pages=1, reference=thread)
    assert app.handle(RecordFax(known)).reference == thread
    other = app.handle(RecordFax(stranger)).reference
    assert other != thread
    assert "ReferenceClaimed" in kinds(app, other)
