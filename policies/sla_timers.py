"""SLA timers: warn before a target falls due, record the breach, escalate.

One job (ledgerdesk.runtime, under Leadership: one process at a time) looks
every few seconds at what the inbox view says is due at the clock's now
(projections.sla_queries) and issues a command for each:
- WarnSla when `warn_at` of a target's business time has passed;
- BreachSla at the due time, which records SlaBreached and escalates;
- MissHandover when a phone request was not taken in time (seed 001);
- PassEscalationDeadline when an escalation's `due_at` passed unsolved.
Nothing is remembered here: the deadlines are read-model columns built from
the log, and each command is a no-op when its event is already on the request,
so a restart, a lagging view or a second timer in another process (a
leadership hand-over) never records anything twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from domain.application import Ledgerdesk
from domain.errors import DomainError
from domain.sla.commands import BreachSla, MissHandover, PassEscalationDeadline, WarnSla
from domain.sla.policy import SlaSettings
from projections.sla_queries import Due, due_timers
from projections.storage import ViewStorage

log = logging.getLogger(__name__)


class SlaTimers:
    def __init__(self, app: Ledgerdesk, inbox: ViewStorage, sla: SlaSettings | None = None,
                 poll_interval: float = 5.0) -> None:
        self.app = app
        self.inbox = inbox
        self.sla = sla or SlaSettings()
        self.poll_interval = poll_interval

    def run_once(self, now: datetime | None = None) -> int:
        """Act on everything due at `now` (the clock's); returns how many
        commands recorded something."""
        moment = now or self.app.clock.now()
        recorded = 0
        for due in due_timers(self.inbox, moment):
            try:
                recorded += bool(self.app.handle(self._command(due)))
            except DomainError as error:  # e.g. the request was closed meanwhile
                log.info("SLA timer %s on %s: %s", due.kind, due.reference, error)
        return recorded

    def _command(self, due: Due) -> object:
        if due.kind == "warn":
            return WarnSla(due.reference, due.target, due.due_at)
        if due.kind == "breach":
            return BreachSla(due.reference, due.target, due.due_at)
        if due.kind == "handover":
            return MissHandover(due.reference, due.due_at, self.sla.handover.escalate_to)
        return PassEscalationDeadline(due.reference, due.due_at)

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # a store hiccup must not end the timers for good
                log.exception("the SLA timers failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_interval)
