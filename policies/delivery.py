"""Deliver the outbox: one policy drives every channel's sender.

Due messages come from the outbox read model; each goes to the `Sender` of its
channel; the outcome is recorded by a command (MarkReplyDelivered or
MarkReplyFailed), which the outbox view then reflects.  A failure is retried on
the shared schedule (domain.delivery.RETRY_DELAYS) until a final one, which the
inbox shows as `delivery_failed`.

Delivery is at least once: when the process dies after a sender delivered but
before the outcome was stored, the message goes out again on the next run.
Senders make that harmless where the channel allows (email reuses the same
Message-ID, so the customer's client shows one mail).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime

from domain.application import Ledgerdesk
from domain.delivery import MAX_ATTEMPTS, DeliveryError, Outbound, Sender
from domain.errors import DomainError
from domain.requests.commands import MarkReplyDelivered, MarkReplyFailed
from projections import outbox
from projections.storage import ViewStorage

log = logging.getLogger(__name__)


class DeliveryPolicy:
    name = "delivery"

    def __init__(
        self,
        app: Ledgerdesk,
        outbox_storage: ViewStorage,
        senders: Mapping[str, Sender],
        batch_size: int = 50,
        poll_interval: float = 2.0,
    ) -> None:
        self.app = app
        self.outbox = outbox_storage
        self.senders = dict(senders)
        self.batch_size = batch_size
        self.poll_interval = poll_interval

    async def run_once(self, now: datetime | None = None) -> int:
        """Send every message due at `now` (the clock's now); returns how many were delivered."""
        moment = now or self.app.clock.now()
        due = await asyncio.to_thread(
            outbox.due, self.outbox, self.senders, moment, self.batch_size
        )
        delivered = 0
        for message in due:
            delivered += await self._deliver(message)
        return delivered

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # a broken row or a store hiccup must not end delivery for good
                log.exception("the outbox run failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_interval)

    async def _deliver(self, message: Outbound) -> bool:
        request = await asyncio.to_thread(self.app.service_request, message.reference)
        if request.replies.get(message.reply_id) != "queued":
            return False  # the view lags behind a delivery or final failure already recorded
        sender = self.senders[message.channel]
        try:
            external_id = await sender.send(message)
        except DeliveryError as error:
            await self._failed(message, str(error), final=error.final)
            return False
        except Exception as error:  # a sender's bug is a failed attempt, not a stopped outbox
            log.exception("the %s sender failed on %s", message.channel, message.reply_id)
            await self._failed(message, f"{type(error).__name__}: {error}", final=False)
            return False
        await asyncio.to_thread(self.app.handle, MarkReplyDelivered(
            message.reference, message.reply_id, external_id))
        return True

    async def _failed(self, message: Outbound, error: str, *, final: bool) -> None:
        final = final or message.attempt >= MAX_ATTEMPTS
        log.warning("delivering %s of %s on %s failed (attempt %d%s): %s", message.reply_id,
                    message.reference, message.channel, message.attempt,
                    ", final" if final else "", error)
        try:
            await asyncio.to_thread(self.app.handle, MarkReplyFailed(
                message.reference, message.reply_id, error[:500], message.attempt, final))
        except DomainError:
            log.exception("recording the failure of %s failed", message.reply_id)
