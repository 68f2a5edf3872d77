"""Complaints' policies: register the complaint record of every request opened
as a complaint, and escalate a complaint whose suggested completion time passed.

The intake is a tracked consumer of the log (like the acknowledgements): a
replay asks again and RegisterComplaint answers "exists".  The deadline timer
reads the complaints view at the clock's now, like the SLA timers; its command
records once per due time on the complaint itself, so a lagging view, a
restart or a second process never escalates twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from domain.aggregates.service_request import ServiceRequest as SR
from domain.application import Ledgerdesk
from domain.complaints.commands import MissComplaintDeadline, RegisterComplaint
from domain.errors import DomainError
from projections.complaints import overdue_complaints
from projections.storage import ViewStorage
from projections.view import Db, View, handles

log = logging.getLogger(__name__)


class ComplaintIntake(View):
    name = "complaint_intake"

    def __init__(self, app: Ledgerdesk) -> None:
        self.app = app

    @handles(SR.Opened)
    def opened(self, db: Db, e: Any, position: Any) -> None:
        if e.request_type != "complaint":
            return
        try:
            self.app.handle(RegisterComplaint(e.reference))
        except DomainError as error:
            log.info("no complaint record for %s: %s", e.reference, error)


class ComplaintTimers:
    def __init__(self, app: Ledgerdesk, complaints: ViewStorage,
                 poll_interval: float = 5.0) -> None:
        self.app = app
        self.complaints = complaints
        self.poll_interval = poll_interval

    def run_once(self, now: datetime | None = None) -> int:
        moment = now or self.app.clock.now()
        recorded = 0
        for reference, due_at in overdue_complaints(self.complaints, moment):
            try:
                recorded += bool(self.app.handle(MissComplaintDeadline(reference, due_at)))
            except DomainError as error:
                log.info("complaint timer on %s: %s", reference, error)
        return recorded

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # a store hiccup must not end the timer for good
                log.exception("the complaint timer failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_interval)
