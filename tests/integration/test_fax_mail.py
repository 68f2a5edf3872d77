"""Fax-to-mail gateways through the real email channel (Dovecot IMAP), on SQLite and
PostgreSQL: mail from a `LEDGERDESK_FAX_GATEWAY_FROM` address becomes a fax interaction,
never an email one; the same TIFF from anyone else is an ordinary email with an attachment;
a gateway's mail with no fax, or a damaged one, is recorded as an unread fax in the
verification queue with the reason, keeping what came, and leaves the mailbox.

The channels are wired as `serve` wires them (ledgerdesk.bootstrap): the email channel's
ingest with the fax channel's mail hook.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from bench.fax_samples import FINE, FormFields, fax_pages, tiff_g4
from channels.email.channel import EmailChannel
from channels.email.settings import ImapConfig
from channels.fax_ocr.channel import FaxChannel
from domain import ids
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.customers.commands import RegisterCustomer
from domain.requests.fax import NO_CUSTOMER, NO_FAX_ATTACHED, UNREADABLE
from tests.support.mailservers import Dovecot

pytest_plugins = ["tests.support.mail_fixtures"]

SUPPORT = "support@ledgerdesk.test"
GATEWAY = "fax-gateway@pbx.huaxin.example"
CUSTOMER = "wang.fang@customer.example"


def mail(sender: str, message_id: str, subject: str,
         attachments: Sequence[tuple[bytes, str]] = ()) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = "Mon, 02 Mar 2026 09:15:00 +0800"
    message.set_content("You have received a fax. 您有一份新传真。")
    for data, filename in attachments:
        message.add_attachment(data, maintype="image", subtype="tiff", filename=filename)
    return message.as_bytes()


def ingest_for(app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot) -> Any:
    email = EmailChannel(app, blobs, ImapConfig(host=dovecot.host, port=dovecot.port,
                                                user=dovecot.user, password=dovecot.password,
                                                timeout=5), None, SUPPORT)
    fax = FaxChannel(app, blobs, "chi_sim+eng", None, gateway_senders=(GATEWAY, ""))
    email.fax_mail = fax.mail_hook
    return email.ingest()


def events_of(app: Ledgerdesk, reference: str) -> list[Any]:
    return list(app.events.get(ids.request_id(reference)))


def kinds(app: Ledgerdesk, reference: str) -> set[str]:
    return {type(e).__name__ for e in events_of(app, reference)}


async def test_a_gateway_mail_is_a_fax_and_the_same_tiff_from_anyone_else_an_email(
    app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot
) -> None:
    app.handle(RegisterCustomer("HUAXIN", "华信精密机械有限公司", actor="t"))
    tiff = tiff_g4(fax_pages(FormFields(reference=""), FINE, pages=1), FINE)
    dovecot.append(mail(f"PBX Fax <{GATEWAY.upper()}>", "<fax-1@pbx.huaxin.example>",
                        "Fax from 0755-8888-2222 (1 page)", [(tiff, "fax-0001.tif")]))
    dovecot.append(mail(f"Wang Fang <{CUSTOMER}>", "<scan@customer.example>",
                        "Our service form", [(tiff, "form.tif")]))

    report = await ingest_for(app, blobs, dovecot).run_once()

    assert (report.recorded, report.moved) == (2, 2)
    assert dovecot.fetch_all("INBOX") == []
    faxed, mailed = report.references
    # The gateway's: a fax on the customer the page names, read by OCR, with the
    # gateway's number for the sender; no email interaction at all.
    request = app.service_request(faxed)
    assert request.channel == "fax" and request.customer_code == "HUAXIN"
    assert "FaxReceived" in kinds(app, faxed) and "MessageReceived" not in kinds(app, faxed)
    [fax] = [e for e in events_of(app, faxed) if type(e).__name__ == "FaxReceived"]
    assert fax.sender_number == "0755-8888-2222"
    assert fax.extracted["customer_code"] == "HUAXIN" and "客户编号" in fax.ocr_text
    assert blobs.get(fax.image) == tiff and not fax.needs_verification
    # Anyone else's: an email, with the TIFF as its attachment, and no OCR.
    other = app.service_request(mailed)
    assert other.channel == "email" and other.customer_code != "HUAXIN"
    assert "FaxReceived" not in kinds(app, mailed)
    [message] = [e for e in events_of(app, mailed) if type(e).__name__ == "MessageReceived"]
    assert message.sender == CUSTOMER
    assert [blobs.get(a) for a in message.attachments] == [tiff]

    # Delivered again (a crash before the move): recorded once.
    dovecot.append(mail(GATEWAY, "<fax-1@pbx.huaxin.example>",
                        "Fax from 0755-8888-2222 (1 page)", [(tiff, "fax-0001.tif")]))
    again = await ingest_for(app, blobs, dovecot).run_once()
    assert (again.recorded, again.duplicates) == (0, 1)


async def test_a_gateway_mail_without_a_readable_fax_waits_for_an_agent_with_what_came(
    app: Ledgerdesk, blobs: BlobStore, dovecot: Dovecot
) -> None:
    truncated = tiff_g4(fax_pages(FormFields(), FINE, pages=1), FINE)[:2500]
    no_fax = mail(GATEWAY, "<fax-2@pbx.huaxin.example>", "Fax from 010-7777-1111")
    dovecot.append(no_fax)
    dovecot.append(mail(GATEWAY, "<fax-3@pbx.huaxin.example>", "Fax from 010-7777-1111",
                        [(truncated, "fax-0003.tif")]))
    dovecot.append(mail(GATEWAY, "<fax-4@pbx.huaxin.example>", "Fax",
                        [(b"", "empty.tif"), (b"just a cover note", "cover.txt")]))

    report = await ingest_for(app, blobs, dovecot).run_once()

    # Every message recorded and out of the mailbox: none stays to be fetched forever.
    assert (report.fetched, report.recorded, report.moved) == (3, 3, 3)
    assert dovecot.fetch_all("INBOX") == []
    bare, damaged, empty = report.references
    for reference, problem in ((bare, NO_FAX_ATTACHED), (damaged, UNREADABLE),
                               (empty, NO_FAX_ATTACHED)):
        request = app.service_request(reference)
        assert request.channel == "fax", reference
        assert "MessageReceived" not in kinds(app, reference)
        [fax] = [e for e in events_of(app, reference) if type(e).__name__ == "FaxReceived"]
        assert fax.needs_verification and request.unverified_faxes == [fax.external_id]
        assert fax.verification_reasons[0] == problem and NO_CUSTOMER in fax.verification_reasons
        assert fax.ocr_text == "" and fax.pages == 0
    # What was kept: the damaged file itself, else the whole mail as it arrived.
    faxes = {r: next(e for e in events_of(app, r) if type(e).__name__ == "FaxReceived")
             for r in (bare, damaged, empty)}
    assert blobs.get(faxes[damaged].image) == truncated
    kept = blobs.get(faxes[bare].image)
    assert faxes[bare].image["content_type"] == "message/rfc822"
    assert b"<fax-2@pbx.huaxin.example>" in kept and b"You have received a fax" in kept
    assert b"<fax-4@pbx.huaxin.example>" in blobs.get(faxes[empty].image)  # cover note and all
    # The gateway's metadata gave the sender's number.
    assert faxes[bare].sender_number == "010-7777-1111"
    assert faxes[damaged].sender_number == "010-7777-1111"
