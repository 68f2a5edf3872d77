"""The email channel against a real Dovecot (IMAP) and a real SMTP relay (aiosmtpd).

Every test runs on SQLite and on PostgreSQL (the ``app`` fixture). Nothing is mocked: mail is
placed with IMAP APPEND, ingested by MailIngest, and replies arrive at the recording relay.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.postgres import PostgresDatastore

from channels.email.ingest import IngestReport, MailIngest
from channels.email.sender import SmtpSender
from channels.email.settings import ImapConfig, SmtpConfig
from domain import ids
from domain.access import Principal
from domain.aggregates.receipt import InboundReceipt
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.customers.commands import EraseCustomer
from domain.delivery import MAX_ATTEMPTS
from domain.errors import NotFound
from domain.requests.commands import QueueReply
from ledgerdesk.config import Database, Settings
from policies.acknowledge import AcknowledgementPolicy
from policies.delivery import DeliveryPolicy
from projections import queries
from projections.inbox import InboxView
from projections.outbox import OutboxView
from projections.registry import open_views
from projections.runner import Projector
from projections.storage import PostgresViewStorage, SQLiteViewStorage, ViewStorage
from projections.timeline import TimelineView
from projections.view import View
from tests.support.mailservers import Dovecot, RecordingSMTPServer

pytest_plugins = ["tests.support.mail_fixtures"]

SUPPORT = "support@ledgerdesk.test"
CUSTOMER = "wang.fang@customer.example"


# --- fixtures and helpers -------------------------------------------------------------------


def open_storage(store: Database, tmp_path: Path, view: View) -> Iterator[ViewStorage]:
    if store.kind == "sqlite":
        storage: ViewStorage = SQLiteViewStorage(tmp_path / "views" / f"{view.name}.db", view)
        yield storage
        storage.close()
        return
    datastore = PostgresDatastore(
        dbname=store.name, host=store.host, port=store.port, user=store.user or "postgres",
        password=store.password,
    )
    try:
        yield PostgresViewStorage(datastore, view)
    finally:
        datastore.close()


@pytest.fixture
def outbox(store: Database, tmp_path: Path) -> Iterator[ViewStorage]:
    yield from open_storage(store, tmp_path, OutboxView())


@pytest.fixture
def policy_storage(store: Database, tmp_path: Path) -> Callable[[View], ViewStorage]:
    """Storage for a policy's tracked state, closed when the test ends."""
    opened: list[Iterator[ViewStorage]] = []

    def open_for(view: View) -> ViewStorage:
        opened.append(open_storage(store, tmp_path, view))
        return next(opened[-1])

    yield open_for
    for generator in opened:
        for _ in generator:
            pass


class AcknowledgedReport(IngestReport):
    acknowledged: int = 0


class Ingest:
    """MailIngest, then the acknowledgement policy over what it recorded: what serve runs."""

    def __init__(self, ingest: MailIngest, policy: AcknowledgementPolicy,
                 projector: Projector) -> None:
        self.ingest = ingest
        self.policy = policy
        self.projector = projector

    async def run_once(self) -> AcknowledgedReport:
        report = await self.ingest.run_once()
        before = self.policy.queued
        await asyncio.to_thread(self.projector.catch_up)
        result = AcknowledgedReport(**vars(report))
        result.acknowledged = self.policy.queued - before
        return result

    async def run_forever(self, stop: asyncio.Event) -> None:
        await self.ingest.run_forever(stop)


def make_ingest(
    app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot,
    storage: Callable[[View], ViewStorage], **options: Any
) -> Ingest:
    limit = options.pop("acknowledgements_per_hour", 3)
    config = ImapConfig(
        host=dovecot.host, port=dovecot.port, user=dovecot.user, password=dovecot.password,
        timeout=5, **options,
    )
    policy = AcknowledgementPolicy(app, own_addresses=[SUPPORT], per_hour=limit)
    return Ingest(MailIngest(app, blobs, config), policy, Projector(app, storage(policy)))


class Delivery:
    """The outbox view brought up to date, then the delivery policy with the SMTP sender."""

    def __init__(self, app: Ledgerdesk, outbox: ViewStorage, policy: DeliveryPolicy) -> None:
        self.projector = Projector(app, outbox)
        self.policy = policy

    async def run_once(self, now: datetime | None = None) -> int:
        await asyncio.to_thread(self.projector.catch_up)
        return await self.policy.run_once(now)


def make_sender(
    app: Ledgerdesk, blobs: BlobStore, outbox: ViewStorage, smtp: RecordingSMTPServer
) -> Delivery:
    sender = SmtpSender(blobs, SmtpConfig(host=smtp.host, port=smtp.port, timeout=3),
                        f"Ledgerdesk Support <{SUPPORT}>")
    return Delivery(app, outbox, DeliveryPolicy(app, outbox, {"email": sender}))


def customer_mail(
    message_id: str,
    subject: str = "Printer will not start",
    body: str = "It shows error E5.",
    sender: str = CUSTOMER,
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Wang Fang <{sender}>"
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = "Mon, 03 Jun 2024 09:30:00 +0800"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def gbk_mail_with_attachment(message_id: str, attachment: bytes) -> bytes:
    """What an older Chinese mail client sends: GBK everywhere, an encoded file name."""
    message = MIMEMultipart()
    message["From"] = f"{Header('王芳', 'gbk').encode()} <{CUSTOMER}>"
    message["To"] = SUPPORT
    message["Subject"] = Header("打印机无法开机，显示错误E5", "gbk")
    message["Message-ID"] = message_id
    message["Date"] = "Mon, 03 Jun 2024 09:30:00 +0800"
    message.attach(MIMEText("您好，我们的打印机昨天开始无法开机。\n型号：LX-300", "plain", "gbk"))
    part = MIMEApplication(attachment, "pdf")
    part.add_header("Content-Disposition", "attachment", filename=("gbk", "", "发票.pdf"))
    message.attach(part)
    return message.as_bytes()


def received(server: RecordingSMTPServer) -> list[Message]:
    return [BytesParser(policy=policy.default).parsebytes(m.data) for m in server.messages]


def request_events(app: Ledgerdesk, reference: str) -> list[Any]:
    return list(app.events.get(ids.request_id(reference)))


def events_named(app: Ledgerdesk, reference: str, name: str) -> list[Any]:
    return [e for e in request_events(app, reference) if type(e).__name__ == name]


def reference_of(app: Ledgerdesk, message_id: str) -> str | None:
    try:
        receipt = app.repository.get(ids.receipt_id("email", message_id))
    except Exception:
        return None
    return receipt.reference if isinstance(receipt, InboundReceipt) else None


async def eventually(predicate: Callable[[], bool], timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(predicate):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


# --- the round trip -------------------------------------------------------------------------


async def test_round_trip_in_gbk_with_attachment(
    app: Ledgerdesk, blobs: BlobStore, outbox: ViewStorage, dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
    policy_storage: Callable[[View], ViewStorage],
) -> None:
    invoice = b"%PDF-1.4 invoice " + os.urandom(2000)
    dovecot.append(gbk_mail_with_attachment("<first@customer.example>", invoice))
    ingest = make_ingest(app, blobs, dovecot, policy_storage)

    report = await ingest.run_once()

    assert (report.recorded, report.acknowledged, report.moved) == (1, 1, 1)
    reference = report.references[0]
    request = app.service_request(reference)
    assert request.channel == "email"
    assert request.subject == "打印机无法开机，显示错误E5"
    message = events_named(app, reference, "MessageReceived")[0]
    assert "打印机昨天开始无法开机" in message.body
    assert message.sender == CUSTOMER
    [attachment] = message.attachments
    assert attachment["filename"] == "发票.pdf"
    assert blobs.get(attachment) == invoice
    assert blobs.exists(message.details["raw"])
    assert message.details["message_id"] == "<first@customer.example>"
    assert dovecot.fetch_all("INBOX") == []
    assert len(dovecot.fetch_all("Processed")) == 1

    manual = blobs.put("重启步骤".encode(), "手册.txt", "text/plain")
    reply_id = app.handle(QueueReply(reference, "您好，请按住电源键十秒后重启。",
                                     "agent@ledgerdesk.test",
                               attachments=[manual]))
    sender = make_sender(app, blobs, outbox, smtp_server)
    assert await sender.run_once() == 2  # the acknowledgement and the agent's reply

    mails = received(smtp_server)
    [ack] = [m for m in mails if m["Auto-Submitted"]]
    [reply] = [m for m in mails if not m["Auto-Submitted"]]
    assert reference in ack.get_body(("plain",)).get_content()
    assert smtp_server.messages[0].rcpt_tos == (CUSTOMER,)
    assert reply["In-Reply-To"] == "<first@customer.example>"
    assert "<first@customer.example>" in reply["References"]
    assert f"[{reference}]" in reply["Subject"] and "打印机无法开机" in reply["Subject"]
    assert "请按住电源键" in reply.get_body(("plain",)).get_content()
    [sent_file] = list(reply.iter_attachments())
    assert sent_file.get_filename() == "手册.txt"
    assert app.service_request(reference).replies[reply_id] == "delivered"

    # The customer answers our reply; the subject lost the token, the headers carry the thread.
    dovecot.append(customer_mail(
        "<second@customer.example>", subject="Re: 还是不行", body="还是无法开机。",
        In_Reply_To=reply["Message-ID"], References=reply["References"] + " " + reply["Message-ID"],
    ))
    report = await ingest.run_once()
    assert (report.recorded, report.acknowledged) == (1, 0)
    assert report.references == [reference]
    assert len(events_named(app, reference, "MessageReceived")) == 2

    # Nothing the customer sent lies on disk in clear, and once they are erased
    # neither the raw mail nor the attachment can be opened any more.
    blob_files = [p for p in blobs.root.rglob("*") if p.is_file()]
    assert blob_files and all(invoice not in p.read_bytes() for p in blob_files)
    await asyncio.to_thread(app.handle, EraseCustomer(
        request.customer_code, "erasure request 7", actor="admin@ledgerdesk.test"))
    erased = events_named(app, reference, "MessageReceived")[0]
    [gone] = erased.attachments
    assert gone["filename"] == "[erased]" and gone["content_type"] == "application/pdf"
    for ref in (gone, erased.details["raw"]):
        with pytest.raises(NotFound, match="erased customer"):
            blobs.get(ref)


async def test_a_reply_to_a_received_message_and_the_subject_token_thread(
    app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot,
    policy_storage: Callable[[View], ViewStorage],
) -> None:
    dovecot.append(customer_mail("<a@customer.example>"))
    ingest = make_ingest(app, blobs, dovecot, policy_storage)
    [reference] = (await ingest.run_once()).references

    # The customer follows up on their own mail (a CC thread), then writes fresh with the token.
    dovecot.append(customer_mail("<b@customer.example>", subject="more",
                                 In_Reply_To="<a@customer.example>"))
    dovecot.append(customer_mail("<c@customer.example>", subject=f"Again [{reference}]"))
    report = await ingest.run_once()

    assert report.references == [reference, reference]
    assert report.acknowledged == 0


BOUNCE = (
    b"From: Mail Delivery System <MAILER-DAEMON@relay.example>\r\n"
    b"To: support@ledgerdesk.test\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"Message-ID: <bounce@relay.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
    b"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; relay.example\r\n\r\n"
    b"Final-Recipient: rfc822; x@y.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    b"--b1--\r\n"
)


# --- duplicates, automatic mail, bad input --------------------------------------------------


async def test_a_message_delivered_twice_is_recorded_once(
    app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot,
    policy_storage: Callable[[View], ViewStorage],
) -> None:
    raw = customer_mail("<dup@customer.example>")
    dovecot.append(raw)
    dovecot.append(raw)
    ingest = make_ingest(app, blobs, dovecot, policy_storage)

    first = await ingest.run_once()
    dovecot.append(raw)  # e.g. a crash after recording, before the move
    second = await ingest.run_once()

    assert (first.recorded, first.duplicates, first.acknowledged) == (1, 1, 1)
    assert (second.recorded, second.duplicates) == (0, 1)
    reference = first.references[0]
    assert len(events_named(app, reference, "MessageReceived")) == 1
    assert len(events_named(app, reference, "ReplyQueued")) == 1
    assert dovecot.fetch_all("INBOX") == []


async def test_auto_replies_bounces_and_our_own_mail_are_recorded_but_not_acknowledged(
    app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot,
    policy_storage: Callable[[View], ViewStorage],
) -> None:
    dovecot.append(customer_mail("<ooo@customer.example>", subject="Out of office",
                                 sender="ooo@customer.example", Auto_Submitted="auto-replied"))
    dovecot.append(customer_mail("<bulk@news.example>", subject="Newsletter",
                                 sender="news@news.example", Precedence="bulk"))
    dovecot.append(BOUNCE)
    dovecot.append(customer_mail("<self@ledgerdesk.test>", subject="Loop", sender=SUPPORT))

    report = await make_ingest(app, blobs, dovecot, policy_storage).run_once()

    assert (report.recorded, report.acknowledged) == (4, 0)
    details = [events_named(app, ref, "MessageReceived")[0].details for ref in report.references]
    assert details[0]["auto_reply"] == "Auto-Submitted: auto-replied"
    assert details[1]["auto_reply"] == "Precedence: bulk"
    assert details[2]["bounce"] is True
    for reference in report.references:
        assert events_named(app, reference, "ReplyQueued") == []
    automatic = [events_named(app, ref, "MessageReceived")[0].automatic
                 for ref in report.references]
    assert automatic == [True, True, True, False]  # our own address is not a machine


def mail_with_control_characters() -> bytes:
    """NUL and other control characters where real mail hides them: inside encoded words, a
    base64 body and an RFC 2231 file name (an IMAP server turns a raw NUL into 0x80 itself,
    which is in there too)."""

    def word(text: str) -> str:
        return f"=?utf-8?B?{base64.b64encode(text.encode()).decode()}?="

    body = base64.b64encode(b"It shows\x00 error\x01 E5.\r\nPlease help.").decode()
    name, subject = word("王\x00芳"), word("打印机\x00故障\x07 E5")
    return (
        f"From: {name} <{CUSTOMER}>\r\n"
        f"To: {SUPPORT}\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <control@customer.example>\r\n"
        "Date: Mon, 03 Jun 2024 09:30:00 +0800\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
        "--b\r\nContent-Type: text/plain\r\n"
        "Content-Disposition: attachment; filename*=utf-8''log%00%1B.txt\r\n\r\n"
        "X-Raw: a\x00b\r\n"
        "--b--\r\n"
    ).encode()


async def test_control_characters_in_a_mail_are_cleaned_and_later_mail_still_flows(
    app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot, store: Database, tmp_path: Path,
    policy_storage: Callable[[View], ViewStorage],
) -> None:
    raw = mail_with_control_characters()
    dovecot.append(raw)
    ingest = make_ingest(app, blobs, dovecot, policy_storage)
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs",
                        secret_key="k")
    models = open_views(settings, app, [InboxView(), TimelineView()])
    try:
        report = await ingest.run_once()
        assert (report.recorded, report.malformed, report.acknowledged) == (1, 0, 1)
        [reference] = report.references
        [message] = events_named(app, reference, "MessageReceived")
        assert blobs.exists(message.details["raw"])  # what arrived, kept as it arrived
        assert b"=?utf-8?B?" in blobs.get(message.details["raw"])

        dovecot.append(customer_mail("<after@customer.example>", subject="Another printer"))
        later = await ingest.run_once()
        assert later.recorded == 1
        for projector in models.projectors:
            await asyncio.to_thread(projector.catch_up)

        staff = Principal("agent@ledgerdesk.test", ("agent",), None)
        shown = queries.service_request(models, staff, reference)
        assert shown["subject"] == "打印机故障 E5"
        [entry] = [e for e in shown["timeline"] if e["kind"] == "message"]
        assert entry["body"] == "It shows error E5.\nPlease help."
        assert entry["data"]["sender_name"] == "王芳"
        assert [a["filename"] for a in entry["attachments"]] == ["log.txt"]
        inbox = queries.inbox(models, staff, {})
        assert {item["reference"] for item in inbox["items"]} == {
            reference, later.references[0]}
    finally:
        models.close()


async def test_malformed_mail_is_kept_raw_and_flagged(
    app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot,
    policy_storage: Callable[[View], ViewStorage],
) -> None:
    raw = b"Subject: =?gbk?B?broken\r\nX-Junk: \xff\xfe\r\n\r\n--garbage without headers--\r\n"
    dovecot.append(raw)

    report = await make_ingest(app, blobs, dovecot, policy_storage).run_once()

    assert (report.recorded, report.malformed, report.acknowledged) == (1, 1, 0)
    [reference] = report.references
    assert app.service_request(reference).subject == "[unreadable message]"
    message = events_named(app, reference, "MessageReceived")[0]
    assert message.details["malformed"] == "the message has no From address"
    assert message.sender == "unknown-sender@invalid"
    stored = blobs.get(message.details["raw"])
    assert b"garbage without headers" in stored


async def test_an_attachment_over_the_limit_is_listed_not_stored(
    app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot,
    policy_storage: Callable[[View], ViewStorage],
) -> None:
    message = EmailMessage()
    message["From"] = CUSTOMER
    message["To"] = SUPPORT
    message["Subject"] = "Logs"
    message["Message-ID"] = "<huge@customer.example>"
    message.set_content("The logs are attached.")
    message.add_attachment(b"small log", maintype="text", subtype="plain", filename="small.log")
    message.add_attachment(os.urandom(blobs.max_bytes + 1000), maintype="application",
                           subtype="zip", filename="dump.zip")
    dovecot.append(message.as_bytes())

    report = await make_ingest(app, blobs, dovecot, policy_storage).run_once()

    assert report.recorded == 1
    received_event = events_named(app, report.references[0], "MessageReceived")[0]
    assert [a["filename"] for a in received_event.attachments] == ["small.log"]
    [rejected] = received_event.details["rejected_attachments"]
    assert rejected["filename"] == "dump.zip"
    assert "limit" in rejected["reason"]
    assert blobs.exists(received_event.details["raw"])  # the whole message is still kept


async def test_acknowledgements_are_rate_limited_per_address(
    app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot,
    policy_storage: Callable[[View], ViewStorage],
) -> None:
    for n in range(3):
        dovecot.append(customer_mail(f"<new-{n}@customer.example>", subject=f"Problem {n}"))
    ingest = make_ingest(app, blobs, dovecot, policy_storage, acknowledgements_per_hour=2)

    first = await ingest.run_once()
    dovecot.append(customer_mail("<new-3@customer.example>", subject="Problem 3"))
    # A fresh ingest (another process, or after a restart) sees the same limit.
    second = await make_ingest(app, blobs, dovecot, policy_storage,
                               acknowledgements_per_hour=2).run_once()

    assert (first.recorded, first.acknowledged) == (3, 2)
    assert (second.recorded, second.acknowledged) == (1, 0)


# --- delivery: the relay down, back, and gone for good ------------------------------------


async def acknowledged_request(app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot,
    policy_storage: Callable[[View], ViewStorage],
) -> str:
    dovecot.append(customer_mail("<needs-ack@customer.example>"))
    report = await make_ingest(app, blobs, dovecot, policy_storage).run_once()
    assert report.acknowledged == 1
    return report.references[0]


async def test_a_relay_that_is_down_is_retried_with_backoff(
    app: Ledgerdesk, blobs: BlobStore, outbox: ViewStorage, dovecot: Dovecot,
    smtp_server: RecordingSMTPServer, policy_storage: Callable[[View], ViewStorage],
) -> None:
    reference = await acknowledged_request(app, blobs, dovecot, policy_storage)
    sender = make_sender(app, blobs, outbox, smtp_server)
    smtp_server.stop()

    assert await sender.run_once() == 0
    [failure] = events_named(app, reference, "ReplyDeliveryFailed")
    assert (failure.attempt, failure.final) == (1, False)
    [reply_id] = app.service_request(reference).replies
    assert app.service_request(reference).replies[reply_id] == "queued"

    smtp_server.start()
    assert await sender.run_once() == 0  # not due yet: the first retry waits 30 s
    assert await sender.run_once(now=datetime.now(UTC) + timedelta(minutes=1)) == 1
    assert len(smtp_server.wait_for(1)) == 1
    assert app.service_request(reference).replies[reply_id] == "delivered"
    assert await sender.run_once(now=datetime.now(UTC) + timedelta(days=1)) == 0


async def test_after_the_last_attempt_the_failure_is_final(
    app: Ledgerdesk, blobs: BlobStore, outbox: ViewStorage, dovecot: Dovecot,
    smtp_server: RecordingSMTPServer, policy_storage: Callable[[View], ViewStorage],
) -> None:
    reference = await acknowledged_request(app, blobs, dovecot, policy_storage)
    sender = make_sender(app, blobs, outbox, smtp_server)
    smtp_server.stop()

    now = datetime.now(UTC)
    for _ in range(MAX_ATTEMPTS + 2):
        now += timedelta(hours=2)
        await sender.run_once(now=now)

    failures = events_named(app, reference, "ReplyDeliveryFailed")
    assert [f.attempt for f in failures] == list(range(1, MAX_ATTEMPTS + 1))
    assert [f.final for f in failures] == [False] * (MAX_ATTEMPTS - 1) + [True]
    assert list(app.service_request(reference).replies.values()) == ["failed"]


# --- the IMAP server going away -----------------------------------------------------------


async def test_run_forever_reconnects_after_the_server_restarts_mid_idle(
    app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot,
    policy_storage: Callable[[View], ViewStorage],
) -> None:
    ingest = make_ingest(app, blobs, dovecot, policy_storage, reconnect_initial=0.2,
                         reconnect_max=1)
    stop = asyncio.Event()
    loop = asyncio.create_task(ingest.run_forever(stop))
    try:
        await asyncio.to_thread(dovecot.append, customer_mail("<before@customer.example>"))
        await eventually(lambda: reference_of(app, "<before@customer.example>") is not None)

        await asyncio.to_thread(dovecot.restart)
        await asyncio.to_thread(dovecot.append, customer_mail("<after@customer.example>",
                                                              subject="After the restart"))
        await eventually(lambda: reference_of(app, "<after@customer.example>") is not None)
    finally:
        stop.set()
        await asyncio.wait_for(loop, 10)
    assert dovecot.fetch_all("INBOX") == []
