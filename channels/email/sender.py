"""The email channel's `Sender`: one outbound message through an SMTP relay (aiosmtplib).

The message is composed here (threading headers, ``[SR-…]`` subject, UTF-8,
attachments from the blob store).  A relay that is down or answers 4xx is a
retryable failure; a 5xx answer, or nobody to send to, is final.  The
Message-ID is fixed by the reply id, so a delivery repeated after a crash sends
the same id and the customer's mail client shows one mail.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import parseaddr

import aiosmtplib

from channels.email.composing import (
    compose_acknowledgement,
    compose_reply,
    reply_message_id,
    threaded_outbound_id,
)
from channels.email.settings import SmtpConfig, message_id_domain
from domain.blobstore import BlobStore
from domain.delivery import DeliveryError, Outbound


class SmtpSender:
    channel = "email"

    def __init__(self, blobs: BlobStore, smtp: SmtpConfig, mail_from: str) -> None:
        self.blobs = blobs
        self.smtp = smtp
        self.mail_from = mail_from
        self.domain = message_id_domain(mail_from)

    async def send(self, message: Outbound) -> str:
        if not message.recipient:
            raise DeliveryError(f"customer {message.customer_code} has no email address",
                                final=True)
        mail = await asyncio.to_thread(self.compose, message, message.recipient)
        try:
            await aiosmtplib.send(
                mail, sender=parseaddr(self.mail_from)[1] or self.mail_from,
                hostname=self.smtp.host, port=self.smtp.port,
                username=self.smtp.user or None, password=self.smtp.password or None,
                use_tls=self.smtp.tls == "ssl", start_tls=self.smtp.tls == "starttls",
                timeout=self.smtp.timeout,
            )
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryError(_describe(error), final=_is_permanent(error)) from error
        return str(mail["Message-ID"])

    def compose(self, message: Outbound, to: str) -> EmailMessage:
        outbound_id = threaded_outbound_id(message.reply_id, message.reference)
        thread = message.thread
        in_reply_to = thread.get("message_id")
        references = list(thread.get("references") or [])
        if message.kind == "acknowledgement":
            return compose_acknowledgement(
                reference=message.reference, subject=message.subject, mail_from=self.mail_from,
                to=to, message_id_domain=self.domain, acknowledgement_id=outbound_id,
                in_reply_to=in_reply_to, references=references,
            )
        attachments = [
            (a.get("filename") or "attachment", a.get("content_type") or "application/octet-stream",
             self.blobs.get(a))
            for a in message.attachments
        ]
        return compose_reply(
            reference=message.reference, subject=message.subject, body=message.body,
            mail_from=self.mail_from, to=to, message_id_domain=self.domain,
            reply_id=outbound_id, in_reply_to=in_reply_to, references=references,
            attachments=attachments,
        )

    def message_id(self, message: Outbound) -> str:
        kind = "ack" if message.kind == "acknowledgement" else "reply"
        return reply_message_id(
            kind, threaded_outbound_id(message.reply_id, message.reference), self.domain)


def _is_permanent(error: BaseException) -> bool:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(500 <= r.code < 600 for r in error.recipients)
    code = getattr(error, "code", None)
    return isinstance(error, aiosmtplib.SMTPResponseException) and isinstance(code, int) and (
        500 <= code < 600
    )


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]
