"""IMAP ingest: every message in the support mailbox becomes a recorded interaction.

Order of operations, chosen so that a crash at any point only causes a redelivery, which the
application recognises (recording is idempotent by the message's dedupe key):

1. fetch the raw message by UID (``BODY.PEEK[]``: nothing is marked on the server yet);
2. keep the raw bytes in the blob store, parse, record it;
3. only then move it to the ``Processed`` folder (UID MOVE, or COPY + \\Deleted + EXPUNGE).

``run_forever`` waits with IDLE when the server offers it and polls otherwise; a dropped
connection is reconnected with exponential backoff, and a UIDVALIDITY change re-scans the
whole mailbox (harmless, for the same reason as above).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from channels.email.imap import ImapError, Session, wait_any
from channels.email.recorder import MessageOutcome, MessageRecorder
from channels.email.settings import ImapConfig
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    fetched: int = 0
    recorded: int = 0
    duplicates: int = 0
    malformed: int = 0
    moved: int = 0
    references: list[str] = field(default_factory=list)
    bounces: int = 0  # tied to the reply they return (also counted as recorded)

    def add(self, other: IngestReport) -> None:
        self.fetched += other.fetched
        self.recorded += other.recorded
        self.duplicates += other.duplicates
        self.malformed += other.malformed
        self.moved += other.moved
        self.bounces += other.bounces
        self.references.extend(other.references)



class MailIngest:
    def __init__(
        self,
        app: Ledgerdesk,
        blobs: BlobStore,
        config: ImapConfig,
        mail_from: str | None = None,
    ) -> None:
        self.config = config
        self.recorder = MessageRecorder(app, blobs, mail_from)
        self._uidvalidity: int | None = None

    async def run_once(self) -> IngestReport:
        """Ingest everything in the mailbox now, then log out."""
        session = Session(self.config)
        try:
            await session.open()
            return await self._drain(session)
        finally:
            await session.close()

    async def run_forever(self, stop: asyncio.Event) -> None:
        delay = self.config.reconnect_initial
        while not stop.is_set():
            session = Session(self.config)
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
            await wait_any(stop, timeout=delay)
            delay = min(delay * 2, self.config.reconnect_max)

    async def _drain(self, session: Session) -> IngestReport:
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

    async def _ingest_batch(self, session: Session, uids: list[int]) -> IngestReport:
        report = IngestReport()
        processed: list[int] = []
        fetched = await session.fetch(uids)
        report.fetched += len(fetched)
        # One atomic save for the whole fetch, each message once (domain.requests.batch).
        try:
            outcomes = await asyncio.to_thread(self.recorder.record_many,
                                               [raw for _, raw in fetched])
        except Exception as error:
            # Left in the mailbox, unmarked: the next connection reads them again.
            log.exception("recording messages UID %s-%s failed", uids[0], uids[-1])
            outcomes = [error] * len(fetched)
        for (uid, _), outcome in zip(fetched, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.error("recording message UID %s failed: %s", uid, outcome)
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
        report.bounces += outcome.bounce
    report.malformed += outcome.malformed
