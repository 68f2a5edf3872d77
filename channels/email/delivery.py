"""The outbox sender: delivers queued email replies through an SMTP relay (aiosmtplib).

Each due row of the outbox view is composed (threading headers, ``[SR-…]`` subject, UTF-8,
attachments from the blob store), sent, and recorded as delivered or failed. A relay that is
down or answers 4xx is retried with backoff (``projections.outbox.RETRY_DELAYS``); a 5xx answer
or the last attempt records a final failure, which the inbox shows as ``delivery_failed``.

Delivery is at-least-once. The Message-ID is fixed by the reply id, so when the process dies
after the relay accepted a reply but before ``mark_reply_delivered`` was stored, the reply is
sent again with the same Message-ID, and the customer's mail client shows it once. Nothing is
forgotten either: a reply leaves the outbox only through a recorded event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, Literal

import aiosmtplib

from channels.email.composing import (
    compose_acknowledgement,
    compose_reply,
    reply_message_id,
    threaded_outbound_id,
)
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.errors import DomainError
from projections.outbox import MAX_ATTEMPTS, decoded_row
from projections.runner import Projector
from projections.storage import ViewStorage
from projections.view import iso

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    tls: Literal["none", "starttls", "ssl"] = "none"
    timeout: float = 30.0
    poll_interval: float = 5.0  # how often run_forever looks for due replies

    @classmethod
    def from_settings(cls, smtp: dict[str, str]) -> SmtpConfig:
        tls = smtp.get("tls", "none").lower()
        if tls not in ("none", "starttls", "ssl"):
            raise ValueError(f"LEDGERDESK_SMTP_TLS must be none, starttls or ssl, not {tls!r}")
        default_port = {"none": 25, "starttls": 587, "ssl": 465}[tls]
        return cls(
            host=smtp["host"],
            port=int(smtp.get("port") or default_port),
            user=smtp.get("user", ""),
            password=smtp.get("password", ""),
            tls=tls,  # type: ignore[arg-type]
        )


class PermanentFailure(Exception):
    """Retrying cannot help (no address, the relay answered 5xx)."""


class OutboxSender:
    def __init__(
        self,
        app: Ledgerdesk,
        blobs: BlobStore,
        outbox_storage: ViewStorage,
        smtp_config: SmtpConfig,
        mail_from: str,
        message_id_domain: str,
        batch_size: int = 50,
    ) -> None:
        self.app = app
        self.blobs = blobs
        self.outbox = outbox_storage
        self.projector = Projector(app, outbox_storage)
        self.smtp = smtp_config
        self.mail_from = mail_from
        self.message_id_domain = message_id_domain
        self.batch_size = batch_size

    async def run_once(self, now: datetime | None = None) -> int:
        """Send every reply due at ``now``; returns how many were delivered."""
        moment = now or datetime.now(UTC)
        try:
            await asyncio.to_thread(self.projector.catch_up)
        except Exception:
            # Another worker projecting the same view wins the tracking race; its rows are as
            # good as ours, and a reply the view has not reached yet goes out on the next run.
            log.debug("catching up the outbox view failed", exc_info=True)
        rows = await asyncio.to_thread(
            self.outbox.query,
            """SELECT * FROM outbox WHERE status = 'queued' AND next_attempt_at <= ?
               ORDER BY next_attempt_at, reply_id LIMIT ?""",
            (iso(moment), self.batch_size),
        )
        delivered = 0
        for row in rows:
            delivered += await self._deliver(decoded_row(row))
        return delivered

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # a broken row or store hiccup must not end delivery for good
                log.exception("the email outbox run failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.smtp.poll_interval)

    async def _deliver(self, row: dict[str, Any]) -> bool:
        reference, reply_id = row["reference"], row["reply_id"]
        request = await asyncio.to_thread(self.app.service_request, reference)
        if request.replies.get(reply_id) != "queued":
            return False  # the view lags behind a delivery or final failure already recorded
        message_id = reply_message_id(
            _id_kind(row), threaded_outbound_id(reply_id, reference), self.message_id_domain
        )
        attempt = int(row["attempts"]) + 1
        try:
            message = await asyncio.to_thread(self._compose, row, request.customer_code)
            await self._send(message)
        except (TimeoutError, PermanentFailure, aiosmtplib.SMTPException, OSError) as error:
            final = attempt >= MAX_ATTEMPTS or _is_permanent(error)
            log.warning("delivering %s of %s failed (attempt %d%s): %s", reply_id, reference,
                        attempt, ", final" if final else "", error)
            await asyncio.to_thread(
                self.app.mark_reply_failed, reference, reply_id, _describe(error), attempt, final
            )
            return False
        await asyncio.to_thread(self.app.mark_reply_delivered, reference, reply_id, message_id)
        return True

    def _compose(self, row: dict[str, Any], customer_code: str) -> EmailMessage:
        to = row["recipient"] or self._first_email_of(customer_code)
        if not to:
            raise PermanentFailure(f"customer {customer_code} has no email address")
        outbound_id = threaded_outbound_id(row["reply_id"], row["reference"])
        if row["kind"] == "acknowledgement":
            return compose_acknowledgement(
                reference=row["reference"], subject=row["subject"], mail_from=self.mail_from,
                to=to, message_id_domain=self.message_id_domain,
                acknowledgement_id=outbound_id, in_reply_to=row["in_reply_to"],
                references=row["thread_references"],
            )
        attachments = [
            (a.get("filename") or "attachment", a.get("content_type") or "application/octet-stream",
             self.blobs.get(a["sha256"]))
            for a in row["attachments"]
        ]
        return compose_reply(
            reference=row["reference"], subject=row["subject"], body=row["body"],
            mail_from=self.mail_from, to=to, message_id_domain=self.message_id_domain,
            reply_id=outbound_id, in_reply_to=row["in_reply_to"],
            references=row["thread_references"], attachments=attachments,
        )

    def _first_email_of(self, customer_code: str) -> str | None:
        try:
            customer = self.app.customer(customer_code)
        except DomainError:
            return None
        for identity in customer.identities:
            kind, _, value = identity.partition(":")
            if kind == "email":
                return value
        return None

    async def _send(self, message: EmailMessage) -> None:
        envelope_from = parseaddr(self.mail_from)[1] or self.mail_from
        await aiosmtplib.send(
            message,
            sender=envelope_from,
            hostname=self.smtp.host,
            port=self.smtp.port,
            username=self.smtp.user or None,
            password=self.smtp.password or None,
            use_tls=self.smtp.tls == "ssl",
            start_tls=self.smtp.tls == "starttls",
            timeout=self.smtp.timeout,
        )


def _id_kind(row: dict[str, Any]) -> str:
    return "ack" if row["kind"] == "acknowledgement" else "reply"


def _is_permanent(error: BaseException) -> bool:
    if isinstance(error, PermanentFailure):
        return True
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(500 <= r.code < 600 for r in error.recipients)
    code = getattr(error, "code", None)
    return isinstance(error, aiosmtplib.SMTPResponseException) and isinstance(code, int) and (
        500 <= code < 600
    )


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]
