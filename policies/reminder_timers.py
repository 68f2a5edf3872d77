"""Reminders (预约提示) fall due: the timer reads the reminders view at the
clock's now and fires each one.  FireReminder records once (the aggregate
refuses a second firing, the event store a second save of the same version),
so two processes, a restart or a view that lags never fire one twice; the
notification it causes is made by policies.notifications."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from domain.application import Ledgerdesk
from domain.errors import DomainError
from domain.reminders.commands import FireReminder
from projections.reminders import due_reminders
from projections.storage import ViewStorage

log = logging.getLogger(__name__)


class ReminderTimers:
    def __init__(self, app: Ledgerdesk, reminders: ViewStorage,
                 poll_interval: float = 5.0) -> None:
        self.app = app
        self.reminders = reminders
        self.poll_interval = poll_interval

    def run_once(self, now: datetime | None = None) -> int:
        moment = now or self.app.clock.now()
        fired = 0
        for reminder_id, at in due_reminders(self.reminders, moment):
            try:
                fired += bool(self.app.handle(FireReminder(reminder_id, at)))
            except DomainError as error:
                log.info("reminder %s: %s", reminder_id, error)
        return fired

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # a store hiccup must not end the timer for good
                log.exception("the reminder timer failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_interval)
