"""The email channel assembled from settings: what ``ledgerdesk email poll`` and ``serve`` run."""

from __future__ import annotations

import asyncio
import contextlib
from email.utils import parseaddr

from channels.email.delivery import OutboxSender, SmtpConfig
from channels.email.ingest import ImapConfig, IngestReport, MailIngest
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from ledgerdesk.config import ConfigError, Settings
from projections.outbox import OutboxView
from projections.registry import ReadModels, open_read_models


def imap_config(settings: Settings) -> ImapConfig:
    imap = settings.imap
    if not imap.get("host"):
        raise ConfigError("email ingest is off: set LEDGERDESK_IMAP_HOST")
    tls = imap.get("tls", "none").lower()
    if tls not in ("none", "starttls", "ssl"):
        raise ConfigError(f"LEDGERDESK_IMAP_TLS must be none, starttls or ssl, not {tls!r}")
    try:
        port = int(imap.get("port") or (993 if tls == "ssl" else 143))
    except ValueError:
        raise ConfigError(f"LEDGERDESK_IMAP_PORT must be a number, not {imap['port']!r}") from None
    return ImapConfig(
        host=imap["host"], port=port, user=imap.get("user", ""),
        password=imap.get("password", ""), mailbox=imap.get("mailbox") or "INBOX",
        tls=tls,  # type: ignore[arg-type]
    )


def message_id_domain(mail_from: str) -> str:
    """Our Message-IDs use the support address's domain."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2]
    return domain or "localhost"


def outbox_sender(
    app: Ledgerdesk, blobs: BlobStore, settings: Settings, read_models: ReadModels
) -> OutboxSender:
    try:
        smtp = SmtpConfig.from_settings(settings.smtp)
    except (KeyError, ValueError) as error:
        raise ConfigError(str(error)) from None
    return OutboxSender(
        app, blobs, read_models[OutboxView.name], smtp, settings.mail_from,
        message_id_domain(settings.mail_from),
    )


async def poll(
    app: Ledgerdesk,
    blobs: BlobStore,
    settings: Settings,
    *,
    once: bool,
    stop: asyncio.Event | None = None,
) -> IngestReport | None:
    """Ingest the IMAP mailbox; deliver the outbox too when SMTP is configured.

    ``once``: ingest what is there, send what is due, return the report. Otherwise run until
    ``stop`` is set (or the task is cancelled) and return None.
    """
    ingest = MailIngest(app, blobs, imap_config(settings), parseaddr(settings.mail_from)[1])
    read_models = (
        open_read_models(settings, app, (OutboxView,)) if settings.email_delivery_enabled else None
    )
    try:
        sender = outbox_sender(app, blobs, settings, read_models) if read_models else None
        if once:
            report = await ingest.run_once()
            if sender is not None:
                await sender.run_once()
            return report
        stopping = stop or asyncio.Event()
        async with asyncio.TaskGroup() as group:
            group.create_task(ingest.run_forever(stopping))
            if sender is not None:
                group.create_task(sender.run_forever(stopping))
        return None
    finally:
        if read_models is not None:
            with contextlib.suppress(Exception):
                read_models.close()


async def run_email(
    app: Ledgerdesk, blobs: BlobStore, settings: Settings, stop: asyncio.Event
) -> None:
    """What `serve` runs: ingest and delivery when IMAP is set, delivery alone
    when only SMTP is set, nothing otherwise."""
    if settings.email_ingest_enabled:
        await poll(app, blobs, settings, once=False, stop=stop)
    elif settings.email_delivery_enabled:
        read_models = open_read_models(settings, app, (OutboxView,))
        try:
            await outbox_sender(app, blobs, settings, read_models).run_forever(stop)
        finally:
            read_models.close()
