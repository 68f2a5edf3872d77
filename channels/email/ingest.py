"""IMAP ingest: every message in the support mailbox becomes a recorded interaction.

Order of operations, chosen so that a crash at any point only causes a redelivery, which the
application recognises (``record_inbound`` is idempotent by the message's dedupe key):

1. fetch the raw message by UID (``BODY.PEEK[]``: nothing is marked on the server yet);
2. keep the raw bytes in the blob store, parse, record it (and queue its acknowledgement);
3. only then move it to the ``Processed`` folder (UID MOVE, or COPY + \\Deleted + EXPUNGE).

``run_forever`` waits with IDLE when the server offers it and polls otherwise; a dropped
connection is reconnected with exponential backoff, and a UIDVALIDITY change re-scans the
whole mailbox (harmless, for the same reason as above).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import ssl
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import aioimaplib

from channels.email.composing import acknowledgement_text, reference_in_own_message_id
from channels.email.parsing import MalformedEmail, ParsedEmail, find_reference, parse_email
from domain import ids
from domain.aggregates.receipt import InboundReceipt
from domain.application import InboundMessage, Ledgerdesk, Recorded
from domain.blobstore import BlobStore, BlobTooLarge
from domain.errors import DomainError, NotFound
from projections.outbox import ACKNOWLEDGEMENT_ACTOR

log = logging.getLogger(__name__)

T = TypeVar("T")

TlsMode = Literal["none", "starttls", "ssl"]

UNKNOWN_SENDER = "unknown-sender@invalid"
MALFORMED_SUBJECT = "[unreadable message]"
# The raw message is the record of what arrived, so it is kept even when an attachment in it
# is over the attachment limit; only something absurd is refused.
RAW_MESSAGE_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int = 143
    user: str = ""
    password: str = ""
    mailbox: str = "INBOX"
    tls: TlsMode = "none"
    processed_folder: str = "Processed"
    timeout: float = 30.0  # per command
    # RFC 2177 asks clients to re-issue IDLE within 29 minutes.
    idle_timeout: float = 25 * 60
    poll_interval: float = 60.0  # when the server has no IDLE
    fetch_batch: int = 50
    reconnect_initial: float = 1.0
    reconnect_max: float = 300.0


@dataclass
class IngestReport:
    fetched: int = 0
    recorded: int = 0
    duplicates: int = 0
    malformed: int = 0
    acknowledged: int = 0
    moved: int = 0
    references: list[str] = field(default_factory=list)

    def add(self, other: IngestReport) -> None:
        self.fetched += other.fetched
        self.recorded += other.recorded
        self.duplicates += other.duplicates
        self.malformed += other.malformed
        self.acknowledged += other.acknowledged
        self.moved += other.moved
        self.references.extend(other.references)


class ImapError(Exception):
    """The server refused a command or went away; the loop reconnects."""


class ConnectionLost(ImapError):
    pass


# --- turning one raw message into a recorded interaction ------------------------------------


@dataclass(frozen=True)
class MessageOutcome:
    recorded: Recorded
    malformed: bool
    acknowledged: bool


class MessageRecorder:
    """Raw bytes in, one recorded interaction (and maybe an acknowledgement) out. Blocking."""

    def __init__(
        self,
        app: Ledgerdesk,
        blobs: BlobStore,
        support_address: str,
        acknowledgements_per_hour: int = 3,
    ) -> None:
        self.app = app
        self.blobs = blobs
        self.raw_blobs = BlobStore(blobs.root, max(blobs.max_bytes, RAW_MESSAGE_LIMIT))
        self.support_address = support_address.strip().lower()
        self.acknowledgements_per_hour = acknowledgements_per_hour

    def record(self, raw: bytes) -> MessageOutcome:
        details: dict[str, Any] = {}
        try:
            details["raw"] = self.raw_blobs.put(raw, "message.eml", "message/rfc822")["sha256"]
        except BlobTooLarge as error:
            details["raw_rejected"] = str(error)
        try:
            parsed = parse_email(raw)
        except MalformedEmail as error:
            return self._record_malformed(raw, details, error.reason)
        except Exception as error:  # a parser bug must flag the message, not stop the mailbox
            log.exception("parsing an inbound email failed")
            return self._record_malformed(raw, details, f"the message could not be read: {error}")
        message = self._inbound(parsed, details)
        recorded = self.app.record_inbound(message)
        acknowledged = False
        if recorded.new_request and not recorded.duplicate and self._should_acknowledge(parsed):
            acknowledged = self._acknowledge(recorded, parsed.sender_address)
        return MessageOutcome(recorded, malformed=False, acknowledged=acknowledged)

    def _inbound(self, parsed: ParsedEmail, details: dict[str, Any]) -> InboundMessage:
        attachments, rejected = self._store_attachments(parsed)
        sender = parsed.sender_address
        if not _usable_address(sender):
            details["original_sender"] = sender
            sender = UNKNOWN_SENDER
        details.update(
            message_id=parsed.message_id,
            in_reply_to=parsed.in_reply_to,
            references=list(parsed.references),
            to=list(parsed.to),
            auto_reply=parsed.auto_reply_reason,
            bounce=parsed.is_bounce,
        )
        if rejected:
            details["rejected_attachments"] = rejected
        return InboundMessage(
            channel="email",
            external_id=parsed.dedupe_key,
            sender=sender,
            body=parsed.body,
            subject=parsed.subject,
            sender_name=parsed.sender_name,
            attachments=tuple(attachments),
            occurred_at=parsed.date,
            reference=self._thread_of(parsed),
            details=details,
        )

    def _store_attachments(
        self, parsed: ParsedEmail
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        stored: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for attachment in parsed.attachments:
            try:
                reference = self.blobs.put(
                    attachment.data, attachment.filename, attachment.content_type
                )
            except BlobTooLarge as error:
                rejected.append(
                    {
                        "filename": attachment.filename,
                        "content_type": attachment.content_type,
                        "size": len(attachment.data),
                        "reason": str(error),
                    }
                )
                continue
            stored.append(
                {**reference, "inline": attachment.inline, "content_id": attachment.content_id}
            )
        return stored, rejected

    def _thread_of(self, parsed: ParsedEmail) -> str | None:
        """The open thread this message continues: headers first, then the subject token."""
        for message_id in self._thread_ids(parsed):
            reference = reference_in_own_message_id(message_id) or self._received_in(message_id)
            if reference is not None and self._exists(reference):
                return reference
        reference = find_reference(parsed.subject)
        return reference if reference is not None and self._exists(reference) else None

    @staticmethod
    def _thread_ids(parsed: ParsedEmail) -> Iterator[str]:
        # In-Reply-To names the message answered; References is oldest-first, so the newest
        # ids are the likeliest to be ours or recorded.
        if parsed.in_reply_to:
            yield parsed.in_reply_to
        yield from reversed(parsed.references)

    def _received_in(self, message_id: str) -> str | None:
        # A recorded message's receipt knows its request (dedupe keys are the <id> form).
        try:
            receipt: object = self.app.repository.get(ids.receipt_id("email", message_id))
        except Exception:  # AggregateNotFoundError: an id this desk never received
            return None
        return receipt.reference if isinstance(receipt, InboundReceipt) else None

    def _exists(self, reference: str) -> bool:
        try:
            self.app.service_request(reference)
        except NotFound:
            return False
        return True

    def _record_malformed(
        self, raw: bytes, details: dict[str, Any], reason: str
    ) -> MessageOutcome:
        details["malformed"] = reason
        sender = _best_effort_sender(raw)
        recorded = self.app.record_inbound(
            InboundMessage(
                channel="email",
                external_id="sha256:" + hashlib.sha256(raw).hexdigest(),
                sender=sender,
                body=f"This message could not be read ({reason}). The raw message is kept.",
                subject=MALFORMED_SUBJECT,
                details=details,
            )
        )
        return MessageOutcome(recorded, malformed=True, acknowledged=False)

    # --- acknowledgements -----------------------------------------------------------------

    def _should_acknowledge(self, parsed: ParsedEmail) -> bool:
        if parsed.auto_reply_reason or parsed.is_bounce:
            return False
        sender = parsed.sender_address
        return _usable_address(sender) and sender != self.support_address

    def _acknowledge(self, recorded: Recorded, address: str) -> bool:
        if self.acknowledgements_sent_since(
            recorded.customer_code, address, datetime.now(UTC) - timedelta(hours=1),
            exclude=recorded.reference,
        ) >= self.acknowledgements_per_hour:
            log.info("no acknowledgement for %s: %s reached the hourly limit",
                     recorded.reference, address)
            return False
        try:
            self.app.queue_reply(
                recorded.reference, acknowledgement_text(recorded.reference),
                actor=ACKNOWLEDGEMENT_ACTOR,
            )
        except DomainError:
            log.exception("queueing the acknowledgement of %s failed", recorded.reference)
            return False
        return True

    def acknowledgements_sent_since(
        self, customer_code: str, address: str, since: datetime, exclude: str | None = None
    ) -> int:
        """Acknowledgements queued to ``address`` since ``since``, read from the event store.

        Derived from stored events rather than a counter in memory, so every process (and a
        restarted one) sees the same limit. Acknowledgements only answer the message that
        opened a request, so the customer's newest requests are all that need reading.
        """
        customer = self.app.customer(customer_code)
        count = 0
        for reference in reversed(customer.requests[-(4 * self.acknowledgements_per_hour + 8) :]):
            if reference == exclude:
                continue
            events = list(self.app.events.get(ids.request_id(reference), limit=6))
            if not events or events[0].timestamp < since:
                break  # requests are listed in the order they were opened
            opened_by = next(
                (getattr(e, "sender", None) for e in events
                 if type(e).__name__ == "MessageReceived"),
                None,
            )
            if opened_by != address:
                continue
            count += sum(
                1
                for e in events
                if type(e).__name__ == "ReplyQueued"
                and getattr(e, "actor", None) == ACKNOWLEDGEMENT_ACTOR
            )
        return count


_FROM_ADDRESS = re.compile(
    rb"^(?:from|sender|return-path)\s*:[^\n]*?([\w.+-]+@[\w-]+(?:\.[\w-]+)+)",
    re.IGNORECASE | re.MULTILINE,
)


def _best_effort_sender(raw: bytes) -> str:
    match = _FROM_ADDRESS.search(raw[:65536])
    if match is None:
        return UNKNOWN_SENDER
    return match.group(1).decode("ascii", "replace").lower()


def _usable_address(address: str) -> bool:
    local, _, domain = address.partition("@")
    return bool(local) and "." in domain and not any(c.isspace() for c in address)


# --- the IMAP session -----------------------------------------------------------------------


class _Session:
    """One logged-in connection with the mailbox selected.

    aioimaplib 2.0.3 notices a dropped connection only through ``conn_lost_cb``; a command
    sent afterwards waits for its timeout. Every command is therefore raced against the
    "lost" event, so a drop is seen at once.
    """

    def __init__(self, config: ImapConfig) -> None:
        self.config = config
        self.lost = asyncio.Event()
        self.client: aioimaplib.IMAP4 | None = None
        self.uidvalidity: int | None = None
        # Per connection: after a reconnect everything still in the mailbox is read again, so a
        # message whose recording or move failed is retried (as a duplicate at worst).
        self.last_uid = 0

    async def open(self) -> None:
        config = self.config
        if config.tls == "ssl":
            self.client = aioimaplib.IMAP4_SSL(
                config.host, config.port, timeout=config.timeout,
                conn_lost_cb=self._connection_lost, ssl_context=ssl.create_default_context(),
            )
        else:
            self.client = aioimaplib.IMAP4(
                config.host, config.port, timeout=config.timeout, conn_lost_cb=self._connection_lost
            )
        await self._run(self.client.wait_hello_from_server())
        if config.tls == "starttls":
            await self._starttls()
        await self._ok(self.client.login(config.user, config.password), "LOGIN")
        # "already exists" is the usual answer and fine.
        await self._run(self.client.create(config.processed_folder))
        response = await self._ok(self.client.select(config.mailbox), f"SELECT {config.mailbox}")
        self.uidvalidity = _uidvalidity(response.lines)

    async def _starttls(self) -> None:
        # aioimaplib 2.0.3 has no STARTTLS: the command is sent by hand and asyncio upgrades
        # the same transport, then capabilities are read again as RFC 3501 requires.
        assert self.client is not None
        protocol = self.client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapError("the server does not offer STARTTLS")
        await self._ok(protocol.simple_command("STARTTLS"), "STARTTLS")
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(
            protocol.transport, protocol, ssl.create_default_context(),
            server_hostname=self.config.host,
        )
        if transport is None:
            raise ImapError("the TLS handshake failed")
        protocol.transport = transport
        await self._run(protocol.capability())

    def _connection_lost(self, error: Exception | None) -> None:
        self.lost.set()

    def has(self, capability: str) -> bool:
        return self.client is not None and self.client.has_capability(capability)

    async def _run(self, command: Awaitable[T]) -> T:
        task = asyncio.ensure_future(command)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if not task.done():
            task.cancel()
            raise ConnectionLost("the IMAP server closed the connection")
        try:
            return task.result()
        except (TimeoutError, aioimaplib.AioImapException, OSError) as error:
            raise ImapError(f"IMAP command failed: {error!r}") from error

    async def _ok(self, command: Awaitable[Any], what: str) -> Any:
        response = await self._run(command)
        if response.result != "OK":
            raise ImapError(f"{what} refused: {_text(response.lines)}")
        return response

    async def new_uids(self, after: int) -> list[int]:
        assert self.client is not None
        # "n:*" always matches the highest UID, even below n, so the result is filtered.
        response = await self._ok(
            self.client.uid_search(f"UID {after + 1}:*", "UNDELETED", charset=None), "SEARCH"
        )
        uids: set[int] = set()
        for line in response.lines[:-1]:
            text = bytes(line).decode("ascii", "replace").strip()
            if text.startswith("SEARCH"):
                text = text[len("SEARCH") :]
            if re.fullmatch(r"[\d\s]*", text):
                uids.update(int(token) for token in text.split())
        return sorted(uid for uid in uids if uid > after)

    async def fetch(self, uids: list[int]) -> list[tuple[int, bytes]]:
        assert self.client is not None
        response = await self._ok(
            self.client.uid("fetch", ",".join(map(str, uids)), "(UID BODY.PEEK[])"), "FETCH"
        )
        return _fetched_messages(response.lines)

    async def mark_processed(self, uids: list[int]) -> None:
        assert self.client is not None
        uid_set = ",".join(map(str, uids))
        folder = self.config.processed_folder
        if self.has("MOVE"):
            await self._ok(self.client.uid("move", uid_set, folder), "MOVE")
            return
        await self._ok(self.client.uid("copy", uid_set, folder), "COPY")
        await self._ok(self.client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
        if self.has("UIDPLUS"):
            await self._ok(self.client.uid("expunge", uid_set), "UID EXPUNGE")
        else:
            await self._ok(self.client.expunge(), "EXPUNGE")

    async def wait_for_mail(self, stop: asyncio.Event) -> None:
        """Return when new mail may have arrived, the wait timed out, or ``stop`` is set."""
        assert self.client is not None
        if not self.has("IDLE"):
            await _wait_any(stop, self.lost, timeout=self.config.poll_interval)
            if self.lost.is_set():
                raise ConnectionLost("the IMAP server closed the connection")
            return
        idle = await self._run(self.client.idle_start(timeout=self.config.idle_timeout))
        push = asyncio.ensure_future(self.client.wait_server_push(timeout=self.config.idle_timeout))
        stopping = asyncio.ensure_future(stop.wait())
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            await asyncio.wait({push, stopping, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (push, stopping, lost):
                task.cancel()
        if self.lost.is_set():
            idle.cancel()
            raise ConnectionLost("the IMAP server closed the connection during IDLE")
        self.client.idle_done()
        # DONE must be acknowledged before any other command may be sent.
        await self._run(asyncio.wait_for(idle, self.config.timeout))

    async def close(self) -> None:
        if self.client is None:
            return
        client, self.client = self.client, None
        if not self.lost.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.logout(), 2)
        with contextlib.suppress(Exception):
            transport = client.protocol.transport
            if transport is not None:
                transport.close()


def _text(lines: list[Any]) -> str:
    return " ".join(bytes(line).decode("utf-8", "replace") for line in lines if len(line) < 500)


def _uidvalidity(lines: list[Any]) -> int | None:
    for line in lines:
        match = re.search(rb"\[UIDVALIDITY (\d+)\]", bytes(line))
        if match:
            return int(match.group(1))
    return None


_FETCH_UID = re.compile(rb"\bUID (\d+)")


def _fetched_messages(lines: list[Any]) -> list[tuple[int, bytes]]:
    """(uid, raw) pairs from a UID FETCH response; the literal is the bytearray item."""
    found: list[tuple[int, bytes]] = []
    header_uid: int | None = None
    pending: bytes | None = None
    for line in lines:
        if isinstance(line, bytearray):
            pending = bytes(line)
            continue
        match = _FETCH_UID.search(line)
        if b" FETCH " in line or line.split(b" ", 2)[1:2] == [b"FETCH"]:
            header_uid = int(match.group(1)) if match else None
        elif match and header_uid is None:
            header_uid = int(match.group(1))  # UID sent after the literal
        if pending is not None and header_uid is not None:
            found.append((header_uid, pending))
            pending, header_uid = None, None
    return found


async def _wait_any(*events: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


# --- the ingest loop ------------------------------------------------------------------------


class MailIngest:
    def __init__(
        self,
        app: Ledgerdesk,
        blobs: BlobStore,
        config: ImapConfig,
        support_address: str,
        acknowledgements_per_hour: int = 3,
    ) -> None:
        self.config = config
        self.recorder = MessageRecorder(app, blobs, support_address, acknowledgements_per_hour)
        self._uidvalidity: int | None = None

    async def run_once(self) -> IngestReport:
        """Ingest everything in the mailbox now, then log out."""
        session = _Session(self.config)
        try:
            await session.open()
            return await self._drain(session)
        finally:
            await session.close()

    async def run_forever(self, stop: asyncio.Event) -> None:
        delay = self.config.reconnect_initial
        while not stop.is_set():
            session = _Session(self.config)
            try:
                await session.open()
                delay = self.config.reconnect_initial
                await self._drain(session)
                while not stop.is_set():
                    await session.wait_for_mail(stop)
                    if not stop.is_set():
                        await self._drain(session)
            except ImapError as error:
                log.warning("IMAP %s:%s: %s; reconnecting in %.0fs",
                            self.config.host, self.config.port, error, delay)
            finally:
                await session.close()
            if stop.is_set():
                break
            await _wait_any(stop, timeout=delay)
            delay = min(delay * 2, self.config.reconnect_max)

    async def _drain(self, session: _Session) -> IngestReport:
        if session.uidvalidity != self._uidvalidity:
            # Old UIDs mean nothing now. Each session scans from UID 1 anyway, and dedupe is by
            # the message's own key, so the re-scan records nothing twice.
            if self._uidvalidity is not None:
                log.warning("UIDVALIDITY of %s changed; re-scanning it", self.config.mailbox)
            self._uidvalidity = session.uidvalidity
        report = IngestReport()
        while True:
            uids = await session.new_uids(session.last_uid)
            if not uids:
                return report
            for start in range(0, len(uids), self.config.fetch_batch):
                batch = uids[start : start + self.config.fetch_batch]
                report.add(await self._ingest_batch(session, batch))
                session.last_uid = max(session.last_uid, batch[-1])

    async def _ingest_batch(self, session: _Session, uids: list[int]) -> IngestReport:
        report = IngestReport()
        processed: list[int] = []
        for uid, raw in await session.fetch(uids):
            report.fetched += 1
            try:
                outcome = await asyncio.to_thread(self.recorder.record, raw)
            except Exception:
                # Left in the mailbox, unmarked: the next connection reads it again.
                log.exception("recording message UID %s failed", uid)
                continue
            processed.append(uid)
            _count(report, outcome)
        if processed:
            await session.mark_processed(processed)
            report.moved += len(processed)
        return report


def _count(report: IngestReport, outcome: MessageOutcome) -> None:
    if outcome.recorded.duplicate:
        report.duplicates += 1
    else:
        report.recorded += 1
        report.references.append(outcome.recorded.reference)
    report.malformed += outcome.malformed
    report.acknowledged += outcome.acknowledged
