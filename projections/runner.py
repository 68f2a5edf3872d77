"""Feeding the event log to views: catch-up in batches, then follow.

The runner pulls notifications from the application recorder with
`select_notifications` (the library's SQLite recorder has no push subscription,
and pulling works the same on both stores), decodes them with the
application's mapper, and hands each batch to the view's storage, which writes
rows and tracking position in one transaction.  Batching is what makes a
rebuild fast: one commit per batch, not per event.

One event must never stop a view for good.  When a batch fails with an error
that is not the database being unavailable or busy, the batch is applied again
one event at a time; an event that fails twice on its own is a poison event:
the view records it in `projection_failures` (shown by `projections status` and
/readyz), moves past it and goes on.  Errors of the database itself (down,
locked, a concurrent worker's position) are raised as before: skipping an event
because the network blinked would lose it from the view for good.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
)
from eventsourcing.utils import get_topic

from domain.aggregates.customer import Customer
from domain.text import clean
from projections.storage import ViewStorage

log = logging.getLogger(__name__)

ERASED_TOPIC = get_topic(Customer.Erased)

DEFAULT_BATCH = 500
# A view that has applied this many events in bulk (a rebuild, or catching up
# after downtime) gets its tables tidied once it has caught up.
TIDY_AFTER = 50_000


# Errors that say "not now" rather than "never": the event is tried again later.
TRANSIENT: tuple[type[BaseException], ...] = (
    OperationalError, InterfaceError, IntegrityError, sqlite3.OperationalError,
    psycopg.OperationalError, psycopg.InterfaceError, psycopg.IntegrityError, TimeoutError,
    ConnectionError,
)


class DecodedEvents:
    """Notifications decoded once for all the views of one application.

    Every view reads the same log; decoding (and opening sealed personal data,
    domain.sealing) is the costly part of reading it, so the projectors of one
    process share the events they decoded, the newest `size` of them.  Safe
    because a position always decodes the same way, except that an erasure
    turns personal values into placeholders: the projector that meets
    `Customer.Erased` destroys the keys and clears this before decoding on."""

    def __init__(self, size: int = 4 * DEFAULT_BATCH * 2) -> None:
        self.size = size
        self._events: OrderedDict[int, tuple[Any, Notification]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, notification: Notification,
            decode: Callable[[Notification], tuple[Any, Notification]]
            ) -> tuple[Any, Notification]:
        with self._lock:
            found = self._events.get(notification.id)
        if found is not None:
            return found
        decoded = decode(notification)
        with self._lock:
            self._events[notification.id] = decoded
            while len(self._events) > self.size:
                self._events.popitem(last=False)
        return decoded

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


@dataclass(frozen=True)
class Status:
    name: str
    position: int
    head: int
    failures: int = 0

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


class Projector:
    """Keeps one view up to date with one application's event log."""

    def __init__(self, app: Application[Any], storage: ViewStorage,
                 decoded: DecodedEvents | None = None) -> None:
        self.app = app
        self.storage = storage
        self.decoded = decoded
        self.untidy = 0  # events applied since the tables were last tidied
        # Views that re-derive rows after an erasure read the events again.
        storage.view.events_at = self.events_at

    @property
    def name(self) -> str:
        return self.storage.view.name

    def position(self) -> int:
        return self.storage.max_tracking_id(self.app.name) or 0

    def status(self) -> Status:
        return Status(self.name, self.position(), self.app.recorder.max_notification_id() or 0,
                      len(self.storage.failures()))

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
            self._shred(notifications)
            try:
                self.storage.write(self.app.name, [self._decoded(n) for n in notifications])
            except (IntegrityError, psycopg.IntegrityError, sqlite3.IntegrityError):
                # Another process (serve beside a CLI export, or a second serve)
                # applied this batch first: carry on from where it got to.
                moved = self.position()
                if moved <= position:
                    raise
                position = moved
                continue
            except TRANSIENT:
                raise
            except Exception:
                self._one_by_one(notifications)
            position = notifications[-1].id
            applied += len(notifications)
            batches += 1
        self.untidy += applied
        caught_up = max_batches is None or batches < max_batches
        if caught_up and self.untidy >= TIDY_AFTER:
            self.storage.tidy()
            self.untidy = 0
        return applied

    def _decoded(self, notification: Notification) -> tuple[Any, Notification]:
        if self.decoded is not None:
            return self.decoded.get(notification, self._decode)
        return self._decode(notification)

    def _decode(self, notification: Notification) -> tuple[Any, Notification]:
        return self.app.mapper.to_domain_event(notification), notification

    def _shred(self, notifications: Sequence[Notification]) -> None:
        """Destroy the keys of every customer erased in this batch before any of
        the batch is decoded: the views then never see that customer's data in
        clear again, and rows re-derived from the events come out as a rebuild
        makes them.  Idempotent: the erasing process destroyed them already, and
        this makes sure a crash between its two steps still ends with them gone."""
        for notification in notifications:
            if notification.topic == ERASED_TOPIC:
                erased = self.app.mapper.to_domain_event(notification)
                keys = getattr(self.app, "keys", None)
                if keys is not None:
                    keys.destroy(erased.codes)
                if self.decoded is not None:
                    self.decoded.clear()

    def events_at(self, positions: Sequence[int]) -> list[tuple[Any, Notification]]:
        """The events at these positions of the log, decoded now."""
        found = []
        for position in sorted(set(positions)):
            [notification] = self.app.recorder.select_notifications(start=position, limit=1)
            found.append(self._decode(notification))  # fresh, never from the shared cache
        return found

    def _one_by_one(self, notifications: Sequence[Notification]) -> None:
        for notification in notifications:
            for attempt in (1, 2):
                try:
                    self.storage.write(self.app.name, [self._decoded(notification)])
                    break
                except TRANSIENT:
                    raise
                except Exception as error:
                    if attempt == 2:
                        self._skip(notification, error)

    def _skip(self, notification: Notification, error: Exception) -> None:
        log.error("projection %s passes over event %s (%s): %s", self.name, notification.id,
                  notification.topic, error, exc_info=error)
        why = clean(f"{type(error).__name__}: {error}")[:1000]
        self.storage.skip(self.app.name, notification, why)

    def rebuild(self, batch_size: int = 2000) -> int:
        self.storage.drop(self.app.name)
        return self.catch_up(batch_size=batch_size)


def rebuild_together(projectors: Sequence[Projector], batch_size: int = 2000) -> dict[str, int]:
    """Drop and rebuild several views in step, batch by batch, so that each
    batch of the log is read and decoded once for all of them (DecodedEvents)
    rather than once per view.  Returns how many events each applied."""
    for projector in projectors:
        projector.storage.drop(projector.app.name)
    applied = {projector.name: 0 for projector in projectors}
    busy = True
    while busy:
        busy = False
        for projector in projectors:
            count = projector.catch_up(batch_size=batch_size, max_batches=1)
            applied[projector.name] += count
            busy = busy or count > 0
    return applied


class Wakeup:
    """A doorbell: whoever learns that something moved rings it, and every
    waiter wakes at once.  The runner waits on one (rung when the log moves: a
    PostgreSQL NOTIFY, a save in this process, the SQLite file changing; see
    ledgerdesk.wakeup) and rings another when its views moved (the live pages
    wait on that one, channels.web.live)."""

    def __init__(self) -> None:
        self.generation = 0
        self._changed = threading.Condition()
        self._async: list[tuple[Any, Any]] = []  # (event loop, asyncio.Event)

    def ring(self) -> None:
        with self._changed:
            self.generation += 1
            self._changed.notify_all()
            waiters = list(self._async)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(event.set)

    def wait(self, seen: int, timeout: float) -> int:
        """Until the generation moves past `seen` (or `timeout` seconds); the generation."""
        with self._changed:
            self._changed.wait_for(lambda: self.generation != seen, timeout)
            return self.generation

    def subscribe(self, loop: Any, event: Any) -> None:
        """Set this asyncio.Event (in its loop) at every ring."""
        with self._changed:
            self._async.append((loop, event))

    def unsubscribe(self, loop: Any, event: Any) -> None:
        with self._changed, contextlib.suppress(ValueError):
            self._async.remove((loop, event))


class ProjectionThread(threading.Thread):
    """Runs projectors until stopped: catches up, then waits.

    Each view has a worker thread of its own, so a busy moment costs the time
    of the slowest view rather than the sum of all (a view's time is mostly
    waiting on its database, which other threads use meanwhile).  This thread
    tells them when to look: with a `wakeup` (what `serve` gives it) it sleeps
    until the log moves, and looks anyway every `safety` seconds in case a
    notification was lost; without one it polls every `interval` seconds.
    Each look asks the log's head once and wakes the workers only when it
    moved (or a view is failing), so an idle process costs next to nothing.
    `moved` is rung whenever a view has applied events."""

    def __init__(self, projectors: Sequence[Projector], interval: float = 0.1,
                 wakeup: Wakeup | None = None, safety: float = 5.0) -> None:
        super().__init__(name="projections", daemon=True)
        self.projectors = projectors
        self.interval = interval
        self.wakeup = wakeup
        self.safety = safety
        self.moved = Wakeup()
        self.stopping = threading.Event()
        self.failures: dict[str, str] = {}
        self._failures_lock = threading.Lock()
        self._work = Wakeup()
        self._workers = [threading.Thread(target=self._follow, args=(p,), daemon=True,
                                          name=f"projection {p.name}") for p in projectors]

    def run(self) -> None:
        for worker in self._workers:
            worker.start()
        head: int | None = None
        while not self.stopping.is_set():
            seen = self.wakeup.generation if self.wakeup is not None else 0
            now = self._head()
            if now is None or now != head or self.failures:
                head = now
                self._work.ring()
            if self.wakeup is None:
                self.stopping.wait(self.interval)
            else:
                self.wakeup.wait(seen, self.safety)

    def _follow(self, projector: Projector) -> None:
        """One view's worker: catch up whenever told, until stopped."""
        seen = -1
        while not self.stopping.is_set():
            seen = self._work.wait(seen, self.safety)
            while not self.stopping.is_set():
                try:
                    applied = projector.catch_up(max_batches=4)
                    self._failed(projector.name, None)
                except Exception as e:  # a failing view must not stop the others
                    if self.failures.get(projector.name) != str(e):
                        log.exception("projection %s failed", projector.name)
                    self._failed(projector.name, str(e))
                    break
                if not applied:
                    break
                self.moved.ring()

    def _failed(self, name: str, error: str | None) -> None:
        """Replaced, never changed in place: /readyz reads it from another thread."""
        with self._failures_lock:
            if self.failures.get(name) == error:
                return
            failures = dict(self.failures)
            if error is None:
                failures.pop(name, None)
            else:
                failures[name] = error
            self.failures = failures

    def _head(self) -> int | None:
        if not self.projectors:
            return None
        try:
            return self.projectors[0].app.recorder.max_notification_id() or 0
        except Exception:  # the store away: the workers will say why
            return None

    def stop(self) -> None:
        self.stopping.set()
        self._work.ring()
        if self.wakeup is not None:
            self.wakeup.ring()
        self.join(timeout=10)
        for worker in self._workers:
            if worker.is_alive():
                worker.join(timeout=10)


def wait_until_caught_up(projectors: Sequence[Projector], timeout: float = 10.0) -> None:
    """For tests and the CLI: block until every view has seen the current head."""
    deadline = time.monotonic() + timeout
    while any(p.status().lag for p in projectors):
        if time.monotonic() > deadline:
            raise TimeoutError("projections did not catch up in time")
        time.sleep(0.02)
