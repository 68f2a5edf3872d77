"""What counts as an answer, and what counts as the customer speaking (issue 9, items 4 and 5).

The acknowledgement the desk sends is not an answer; an out-of-office or a bounce that comes
back is not the customer. Everything runs as `serve` runs it, on SQLite and PostgreSQL: mail
through a real Dovecot, the acknowledgement policy and the read models caught up from the log,
replies through the delivery policy to a real SMTP relay. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from channels.email.ingest import IngestReport, MailIngest
from channels.email.sender import SmtpSender
from channels.email.settings import ImapConfig, SmtpConfig
from domain.access import Principal
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.business_time import BusinessCalendar
from domain.requests.commands import ChangeStatus, Escalate, QueueReply
from ledgerdesk.config import Database, Settings
from policies.acknowledge import AcknowledgementPolicy
from policies.delivery import DeliveryPolicy
from projections import queries
from projections.inbox import InboxView
from projections.outbox import OutboxView
from projections.registry import ReadModels, open_views
from projections.timeline import TimelineView
from tests.integration.test_email_channel import (
    CUSTOMER,
    SUPPORT,
    customer_mail,
    events_named,
)
from tests.support.mailservers import Dovecot, RecordingSMTPServer

AGENT = "agent@ledgerdesk.test"
STAFF = Principal(AGENT, ("agent",), None)


class Desk:
    """`serve` in miniature: ingest, the acknowledgement policy and the read models, delivery."""

    def __init__(self, app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot,
                 smtp: RecordingSMTPServer, models: ReadModels) -> None:
        mail_from = f"Ledgerdesk Support <{SUPPORT}>"
        self.app = app
        self.models = models
        self.smtp = smtp
        self.ingest = MailIngest(app, blobs, ImapConfig(
            host=dovecot.host, port=dovecot.port, user=dovecot.user, password=dovecot.password,
            timeout=5), mail_from)
        sender = SmtpSender(blobs, SmtpConfig(host=smtp.host, port=smtp.port, timeout=3),
                            mail_from)
        self.delivery = DeliveryPolicy(app, models["outbox"], {"email": sender})

    async def receive(self) -> IngestReport:
        report = await self.ingest.run_once()
        await self.catch_up()
        return report

    async def deliver(self) -> int:
        await self.catch_up()
        delivered = await self.delivery.run_once()
        await self.catch_up()
        return delivered

    async def catch_up(self) -> None:
        # Twice: the acknowledgement policy queues replies the views then have to see.
        for _ in range(2):
            for projector in self.models.projectors:
                await asyncio.to_thread(projector.catch_up)

    def inbox_row(self, reference: str) -> dict[str, Any]:
        [row] = self.models["inbox"].query("SELECT * FROM inbox WHERE reference = ?",
                                           (reference,))
        return row

    def queue(self, name: str) -> list[str]:
        found = queries.inbox(self.models, STAFF, {"queue": name})
        return [item["reference"] for item in found["items"]]

    def timeline(self, reference: str) -> list[dict[str, Any]]:
        return list(queries.service_request(self.models, STAFF, reference)["timeline"])

    def sent(self) -> list[Any]:
        return [BytesParser(policy=policy.default).parsebytes(m.data)
                for m in self.smtp.messages]


@pytest.fixture
def desk(
    app: Ledgerdesk, store: Database, tmp_path: Path, blobs: BlobStore, dovecot: Dovecot,
    smtp_server: RecordingSMTPServer,
) -> Iterator[Desk]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs",
                        secret_key="k")
    views = [InboxView(), TimelineView(), OutboxView(),
             AcknowledgementPolicy(app, own_addresses=[SUPPORT])]
    models = open_views(settings, app, views)
    try:
        yield Desk(app, blobs, dovecot, smtp_server, models)
    finally:
        models.close()


async def new_request(desk: Desk, dovecot: Dovecot, message_id: str) -> str:
    """A customer's first mail, acknowledged, the acknowledgement sent."""
    dovecot.append(customer_mail(message_id))
    [reference] = (await desk.receive()).references
    assert await desk.deliver() == 1
    return reference


# --- item 4: an acknowledgement is not an answer ----------------------------------------------


async def test_the_acknowledgement_leaves_the_request_awaiting_an_answer(
    desk: Desk, dovecot: Dovecot, app: Ledgerdesk
) -> None:
    reference = await new_request(desk, dovecot, "<new@customer.example>")

    [acknowledgement] = events_named(app, reference, "ReplyQueued")
    assert acknowledgement.automatic is True
    assert [m["Auto-Submitted"] for m in desk.sent()] == ["auto-replied"]
    row = desk.inbox_row(reference)
    assert row["awaiting_reply"] == 1
    opened = datetime.fromisoformat(row["opened_at"])
    # Eight hours of business time (Mon–Fri 09:00–18:00 Asia/Shanghai by default).
    assert datetime.fromisoformat(row["sla_due_at"]) == BusinessCalendar().add(
        opened, timedelta(hours=8))
    [entry] = [e for e in desk.timeline(reference) if e["kind"] == "reply"]
    assert entry["data"]["automatic"] is True

    # When the answer falls due, the request is at risk: the acknowledgement did not answer it.
    app.handle(Escalate(reference, "the customer's line is down", actor=AGENT,
                        due_at=datetime.now(UTC) + timedelta(minutes=30)))
    await desk.catch_up()
    assert desk.queue("sla_at_risk") == [reference]

    # An agent's answer is one.
    app.handle(QueueReply(reference, "请按住电源键十秒后重启。", actor=AGENT))
    await desk.catch_up()
    assert desk.queue("sla_at_risk") == []
    assert (desk.inbox_row(reference)["awaiting_reply"], desk.inbox_row(reference)["sla_due_at"]
            ) == (0, None)


# --- item 5: auto-replies ---------------------------------------------------------------------


async def test_an_out_of_office_joins_its_thread_and_starts_no_clock(
    desk: Desk, dovecot: Dovecot, app: Ledgerdesk
) -> None:
    reference = await new_request(desk, dovecot, "<first@customer.example>")
    app.handle(QueueReply(reference, "请提供序列号。", actor=AGENT))
    assert await desk.deliver() == 1
    answer = desk.sent()[-1]
    app.handle(ChangeStatus(reference, "pending_customer", actor=AGENT))

    # The customer's vacation responder answers our question.
    dovecot.append(customer_mail(
        "<ooo@customer.example>", subject=f"自动回复: {answer['Subject']}", body="我休假到周五。",
        In_Reply_To=answer["Message-ID"], Auto_Submitted="auto-replied"))
    report = await desk.receive()

    assert report.references == [reference]  # joined the thread, opened nothing
    [_, out_of_office] = events_named(app, reference, "MessageReceived")
    assert out_of_office.automatic is True
    assert app.service_request(reference).status == "pending_customer"  # still their turn
    row = desk.inbox_row(reference)
    assert (row["awaiting_reply"], row["sla_due_at"], row["status"]) == (
        0, None, "pending_customer")
    assert len(events_named(app, reference, "ReplyQueued")) == 2  # not acknowledged
    [entry] = [e for e in desk.timeline(reference)
               if e["kind"] == "message" and e["data"]["automatic"]]
    assert entry["body"] == "我休假到周五。"


async def test_an_auto_reply_without_a_thread_opens_a_request_without_a_clock(
    desk: Desk, dovecot: Dovecot, app: Ledgerdesk
) -> None:
    dovecot.append(customer_mail("<list@news.example>", subject="Newsletter",
                                 sender="news@news.example", Precedence="bulk"))
    [reference] = (await desk.receive()).references

    row = desk.inbox_row(reference)
    assert (row["awaiting_reply"], row["sla_due_at"]) == (0, None)
    assert events_named(app, reference, "ReplyQueued") == []  # never acknowledged
    assert reference not in desk.queue("sla_at_risk")
    assert reference in desk.queue("")  # but an agent sees it


# --- item 5: bounces --------------------------------------------------------------------------


def delivery_status_notification(
    returned: bytes, message_id: str, recipient: str = CUSTOMER, headers_only: bool = False
) -> bytes:
    """What Postfix sends back when the customer's server refuses our mail after the fact."""
    original = (b"Content-Type: text/rfc822-headers\r\n\r\n" + returned.split(b"\r\n\r\n")[0]
                if headers_only else b"Content-Type: message/rfc822\r\n\r\n" + returned)
    return (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\n"
        b"To: support@ledgerdesk.test\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        + f"Message-ID: {message_id}\r\n".encode()
        + b"Date: Mon, 03 Jun 2024 10:00:00 +0800\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n'
        b"\r\n"
        b"--dsn\r\nContent-Type: text/plain\r\n\r\n"
        b"I'm sorry to have to inform you that your message could not be delivered.\r\n"
        b"--dsn\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.customer.example\r\n\r\n"
        + f"Final-Recipient: rfc822; {recipient}\r\n".encode()
        + b"Action: failed\r\nStatus: 5.2.2\r\n"
        + f"Diagnostic-Code: smtp; 552 5.2.2 <{recipient}>: mailbox full\r\n".encode()
        + b"\r\n--dsn\r\n" + original + b"\r\n--dsn--\r\n"
    )


async def test_a_bounce_fails_the_reply_it_returns_and_opens_nothing(
    desk: Desk, dovecot: Dovecot, app: Ledgerdesk, blobs: BlobStore
) -> None:
    reference = await new_request(desk, dovecot, "<first@customer.example>")
    reply_id = app.handle(QueueReply(reference, "请提供序列号。", actor=AGENT))
    assert await desk.deliver() == 1
    assert app.service_request(reference).replies[reply_id] == "delivered"
    returned = desk.smtp.messages[-1].data

    bounce = delivery_status_notification(returned, "<dsn-1@mx.customer.example>")
    dovecot.append(bounce)
    report = await desk.receive()

    assert (report.recorded, report.bounces, report.references) == (1, 1, [reference])
    assert app.service_request(reference).replies[reply_id] == "failed"
    [event] = events_named(app, reference, "BounceReceived")
    reason = f"{CUSTOMER}: 552 5.2.2 <{CUSTOMER}>: mailbox full"
    assert (event.reply_id, event.reason) == (reply_id, reason)
    assert blobs.get(event.details["raw"]) == bounce
    row = desk.inbox_row(reference)
    assert row["delivery_failed"] == 1
    assert row["awaiting_reply"] == 0  # the bounce is no customer message
    [outbox_row] = desk.models["outbox"].query(
        "SELECT status, last_error FROM outbox WHERE reply_id = ?", (reply_id,))
    assert outbox_row == {"status": "failed", "last_error": f"bounced: {reason}"}
    [entry] = [e for e in desk.timeline(reference) if e["kind"] == "delivery_failed"]
    assert (entry["body"], entry["data"]["reply_id"]) == (reason, reply_id)
    assert len(events_named(app, reference, "MessageReceived")) == 1
    assert len(events_named(app, reference, "ReplyQueued")) == 2  # nothing acknowledged it

    # The same bounce again (a crash before the mailbox move): nothing new.
    dovecot.append(bounce)
    again = await desk.receive()
    assert (again.recorded, again.duplicates) == (0, 1)
    assert len(events_named(app, reference, "BounceReceived")) == 1


async def test_a_bounced_acknowledgement_is_tied_by_the_returned_headers(
    desk: Desk, dovecot: Dovecot, app: Ledgerdesk
) -> None:
    reference = await new_request(desk, dovecot, "<first@customer.example>")
    [acknowledgement_id] = app.service_request(reference).replies
    returned = desk.smtp.messages[-1].data

    dovecot.append(delivery_status_notification(returned, "<dsn-2@mx.customer.example>",
                                                headers_only=True))
    report = await desk.receive()

    assert (report.bounces, report.references) == (1, [reference])
    assert app.service_request(reference).replies[acknowledgement_id] == "failed"
    assert desk.inbox_row(reference)["delivery_failed"] == 1


async def test_a_bounce_that_returns_nothing_of_ours_is_kept_without_a_clock(
    desk: Desk, dovecot: Dovecot, app: Ledgerdesk, blobs: BlobStore
) -> None:
    stranger = customer_mail("<reply-0f0f.SR-000999@ledgerdesk.test>", sender=SUPPORT)
    dovecot.append(delivery_status_notification(stranger, "<dsn-3@mx.customer.example>"))
    report = await desk.receive()

    assert (report.recorded, report.bounces) == (1, 0)
    [reference] = report.references
    [message] = events_named(app, reference, "MessageReceived")
    assert message.automatic is True
    assert message.details["bounce"] is True
    assert "mailbox full" in message.details["bounce_reason"]
    assert blobs.exists(message.details["raw"])
    row = desk.inbox_row(reference)
    assert (row["awaiting_reply"], row["sla_due_at"]) == (0, None)
    assert events_named(app, reference, "ReplyQueued") == []
    assert reference in desk.queue("")
