"""Feeding the event log to views: catch-up in batches, then follow.

The runner pulls notifications from the application recorder with
`select_notifications` (the library's SQLite recorder has no push subscription,
and pulling works the same on both stores), decodes them with the
application's mapper, and hands each batch to the view's storage, which writes
rows and tracking position in one transaction.  Batching is what makes a
rebuild fast: one commit per batch, not per event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application

from projections.storage import ViewStorage

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500
# A view that has applied this many events in bulk (a rebuild, or catching up
# after downtime) gets its tables tidied once it has caught up.
TIDY_AFTER = 50_000


@dataclass(frozen=True)
class Status:
    name: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


class Projector:
    """Keeps one view up to date with one application's event log."""

    def __init__(self, app: Application[Any], storage: ViewStorage) -> None:
        self.app = app
        self.storage = storage
        self.untidy = 0  # events applied since the tables were last tidied

    @property
    def name(self) -> str:
        return self.storage.view.name

    def position(self) -> int:
        return self.storage.max_tracking_id(self.app.name) or 0

    def status(self) -> Status:
        return Status(self.name, self.position(), self.app.recorder.max_notification_id() or 0)

    def catch_up(self, batch_size: int = DEFAULT_BATCH, max_batches: int | None = None) -> int:
        """Apply everything new; returns how many events were applied."""
        applied = 0
        batches = 0
        position = self.position()
        while max_batches is None or batches < max_batches:
            notifications = self.app.recorder.select_notifications(
                start=position, limit=batch_size, inclusive_of_start=False
            )
            if not notifications:
                break
            batch = [(self.app.mapper.to_domain_event(n), n) for n in notifications]
            self.storage.write(self.app.name, batch)
            position = notifications[-1].id
            applied += len(batch)
            batches += 1
        self.untidy += applied
        caught_up = max_batches is None or batches < max_batches
        if caught_up and self.untidy >= TIDY_AFTER:
            self.storage.tidy()
            self.untidy = 0
        return applied

    def rebuild(self, batch_size: int = 2000) -> int:
        self.storage.drop(self.app.name)
        return self.catch_up(batch_size=batch_size)


class ProjectionThread(threading.Thread):
    """Runs projectors until stopped: catches up, then polls every `interval`
    seconds (well under the one-second lag promised when idle)."""

    def __init__(self, projectors: Sequence[Projector], interval: float = 0.1) -> None:
        super().__init__(name="projections", daemon=True)
        self.projectors = projectors
        self.interval = interval
        self.stopping = threading.Event()
        self.failures: dict[str, str] = {}

    def run(self) -> None:
        while not self.stopping.is_set():
            busy = False
            for projector in self.projectors:
                try:
                    busy = projector.catch_up(max_batches=4) > 0 or busy
                    self.failures.pop(projector.name, None)
                except Exception as e:  # a failing view must not stop the others
                    if self.failures.get(projector.name) != str(e):
                        log.exception("projection %s failed", projector.name)
                    self.failures[projector.name] = str(e)
            if not busy:
                self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def wait_until_caught_up(projectors: Sequence[Projector], timeout: float = 10.0) -> None:
    """For tests and the CLI: block until every view has seen the current head."""
    deadline = time.monotonic() + timeout
    while any(p.status().lag for p in projectors):
        if time.monotonic() > deadline:
            raise TimeoutError("projections did not catch up in time")
        time.sleep(0.02)
