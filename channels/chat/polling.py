"""Long polling: getUpdates in a loop, each update recorded before it is confirmed.

The Bot API confirms (and forgets) every update below the offset of the next
getUpdates call.  The offset sent is the one persisted after each update was
recorded (channels.chat.state), never an in-memory one, so whatever the
process dies between, a restart asks again from the first update not yet
recorded.  That is also why python-telegram-bot's own `Updater` is not used:
it confirms a batch when it fetches the next one, whether or not its handlers
have finished with the first, so a crash there would lose updates.

An update the domain refuses (a DomainError: nothing can make it acceptable)
is logged and passed over, so one bad update cannot stop the chat for good;
any other failure (the store or Telegram away, a file download cut off) stops
the batch there, and the update is fetched again after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

from channels.chat.bots import BotPool
from channels.chat.inbound import UpdateOutcome, UpdateRecorder
from channels.chat.settings import TelegramConfig
from channels.chat.state import TelegramState
from domain.errors import DomainError

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")  # the last: survey buttons


@dataclass
class PollReport:
    fetched: int = 0
    outcomes: list[UpdateOutcome] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind)


class Poller:
    def __init__(self, config: TelegramConfig, bots: BotPool, state: TelegramState,
                 recorder: UpdateRecorder) -> None:
        self.config = config
        self.bots = bots
        self.state = state
        self.recorder = recorder
        self._webhook_cleared = False

    async def run_once(self, max_batches: int = 1000) -> PollReport:
        """Everything waiting now, without waiting for more."""
        bot = await self.bots.get()
        report = PollReport()
        for _ in range(max_batches):
            fetched = await self.batch(bot, report, timeout=0)
            if fetched == 0:
                break
        return report

    async def run_forever(self, stop: asyncio.Event) -> None:
        pause = self.config.reconnect_initial
        bot = self.bots.make()
        await bot.initialize()
        try:
            while not stop.is_set():
                try:
                    await self._until_stopped(stop, self.batch(
                        bot, PollReport(), timeout=self.config.poll_timeout))
                    pause = self.config.reconnect_initial
                except Exception as error:
                    level = logging.WARNING if isinstance(error, TelegramError) else logging.ERROR
                    log.log(level, "Telegram polling failed (%s); retrying in %.0f s",
                            error, pause, exc_info=level == logging.ERROR)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), pause)
                    pause = min(pause * 2, self.config.reconnect_max)
        finally:
            with contextlib.suppress(Exception):
                await bot.shutdown()

    async def batch(self, bot: Bot, report: PollReport, timeout: int) -> int:
        """One getUpdates call and the recording of what it brought; returns how many."""
        if not self._webhook_cleared:
            # getUpdates is refused (409) while a webhook is set; pending updates stay.
            await bot.delete_webhook(drop_pending_updates=False)
            self._webhook_cleared = True
        offset = await asyncio.to_thread(self.state.next_update, self.config.bot_id)
        updates = await bot.get_updates(offset=offset, timeout=timeout,
                                        limit=self.config.poll_limit,
                                        allowed_updates=list(ALLOWED_UPDATES))
        report.fetched += len(updates)
        for update in updates:
            if offset is not None and update.update_id < offset:
                continue  # confirmed before; a server that resends it is ignored
            try:
                outcome = await self.recorder.record(update, bot)
            except DomainError as error:
                log.warning("Telegram update %d refused and passed over: %s",
                            update.update_id, error.message)
                outcome = UpdateOutcome(update.update_id, "refused", note=error.message)
            report.outcomes.append(outcome)
            await asyncio.to_thread(self.state.save_next_update, self.config.bot_id,
                                    update.update_id + 1)
        return len(updates)

    @staticmethod
    async def _until_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, int]) -> None:
        """Run `work`, abandoning it when `stop` is set: a long poll holds no
        update yet unconfirmed, and recording is one atomic write, so cancelling
        loses nothing."""
        task = asyncio.ensure_future(work)
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return
        task.result()
