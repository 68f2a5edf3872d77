"""What every command handler needs: load, create-unique-or-conflict, save with retry.

Handlers never touch the `eventsourcing` application directly; they go through
this small surface, so each context's handlers read the same way and the rules
for concurrency live in one place:

- A command's changes to several aggregates are saved in one atomic write.
- Uniqueness comes from aggregates whose id derives from the unique value (see
  domain.ids): creating one twice is a version conflict inside that write.
- A write that loses an optimistic-concurrency race is retried on fresh state
  with a growing, jittered pause, so a burst of writers on one customer spreads
  out instead of colliding again in lockstep; after the last try it is refused
  with ConcurrentChange.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain import ids
from domain.aggregates.sequence import ReferenceSequence
from domain.clock import Clock, SystemClock
from domain.errors import AlreadyExists, ConcurrentChange, NotFound
from domain.routing.settings import RoutingSettings

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

SYSTEM = "system"


class Pending:
    """Aggregates changed by one command, saved together at the end."""

    def __init__(self, aggregates: Iterable[Aggregate] = ()) -> None:
        self.aggregates: list[Aggregate] = []
        self._objects: set[int] = set()  # id() of each: a batch adds hundreds
        self.add(*aggregates)

    def add(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            if id(aggregate) not in self._objects:
                self._objects.add(id(aggregate))
                self.aggregates.append(aggregate)


class Store:
    # A race lost to a concurrent writer is retried until this many seconds have
    # passed: a command without `expected_version` is refused only when the
    # store is so busy that waiting does not help, never merely because many
    # people write to the same request at once.
    patience = 10.0
    first_pause = 0.002  # seconds; doubled per attempt up to max_pause ("full jitter")
    max_pause = 0.1
    reference_block_size = 20

    def __init__(
        self,
        app: Application[UUID],
        clock: Clock | None = None,
        reply_channels: Iterable[str] = (),
        routing: RoutingSettings | None = None,
    ) -> None:
        self.app = app
        self.clock: Clock = clock or SystemClock()
        # Where new requests go (domain.routing); the composition root says.
        self.routing = routing or RoutingSettings()
        # Channels a reply can be delivered on in this deployment (a sender is
        # configured); the composition root says which.
        self.reply_channels = frozenset(reply_channels)
        # Per-context settings the composition root hands down (e.g. "complaints":
        # domain.complaints.policy.ComplaintSettings); a context falls back to its
        # defaults when its key is absent.
        self.settings: dict[str, Any] = {}
        self._numbers: Iterator[int] = iter(())
        self._numbers_lock = threading.Lock()

    def destroy_keys(self, key_ids: Iterable[str]) -> None:
        """Crypto-shred: destroy the data keys of these customers (domain.sealing)."""
        keys = getattr(self.app, "keys", None)
        if keys is None:
            raise RuntimeError("this application has no key ring")
        keys.destroy(key_ids)

    # --- reading ------------------------------------------------------------

    def created(self, cls: type[A], page: int = 1000) -> list[A]:
        """Every aggregate of `cls`, in the order they were created, each read
        from its own stream (so a change made a moment ago, in any process,
        shows).  For the few: users, teams.  The log's `Created` notifications
        are read by topic, in the store, a page at a time."""
        recorder = self.app.recorder
        topics = [get_topic(cls.Created)]
        found: list[A] = []
        position = 0
        while True:
            batch = recorder.select_notifications(position, page, topics=topics,
                                                  inclusive_of_start=False)
            for notification in batch:
                aggregate = self.get(cls, UUID(str(notification.originator_id)))
                if aggregate is not None:
                    found.append(aggregate)
            if len(batch) < page:
                return found
            position = batch[-1].id

    def get(self, cls: type[A], aggregate_id: UUID) -> A | None:
        keys = getattr(self.app, "keys", None)
        if keys is not None:
            # Aggregates cached in clear must not outlive an erasure made elsewhere.
            keys.refresh()
        try:
            aggregate: Aggregate = self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, cls) else None

    def find(self, cls: type[A], *aggregate_ids: UUID) -> A | None:
        """The first of these ids that exists (a keyed id, then its legacy twin)."""
        for aggregate_id in aggregate_ids:
            found = self.get(cls, aggregate_id)
            if found is not None:
                return found
        return None

    def load(self, cls: type[A], aggregate_id: UUID, missing: str) -> A:
        found = self.get(cls, aggregate_id)
        if found is None:
            raise NotFound(missing)
        return found

    def events(self, aggregate_id: UUID, limit: int | None = None) -> list[Any]:
        return list(self.app.events.get(aggregate_id, limit=limit))

    # --- writing ------------------------------------------------------------

    def save(self, pending: Pending | Aggregate, *more: Aggregate) -> None:
        aggregates = pending.aggregates if isinstance(pending, Pending) else [pending]
        self.app.save(*aggregates, *more)

    def hold(self, aggregates: Iterable[Aggregate]) -> bool:
        """Let the rest of this command read these (new, unsaved) aggregates by id,
        as a batch needs: its second message may answer its first.  False when
        the repository cannot (no aggregate cache)."""
        hold = getattr(self.app.repository, "hold", None)
        if hold is None:
            return False
        hold(aggregates)
        return True

    def abandon(self) -> None:
        """Every unsaved change of this command is given up: what it changed is
        read afresh from the store, what it made is gone."""
        abandon = getattr(self.app.repository, "abandon", None)
        if abandon is not None:
            abandon()

    def create(self, pending: Pending, exists: str) -> None:
        """Save aggregates whose creation must be unique; a conflict on the first
        one means it exists already."""
        first = pending.aggregates[0]
        try:
            self.save(pending)
        except IntegrityError:
            if self.get(type(first), first.id) is not None:
                raise AlreadyExists(exists) from None
            raise

    def retrying(self, attempt: Callable[[], T]) -> T:
        """Run `attempt` (which loads, changes and saves) until it wins its race.

        Each lost race sleeps a random time up to a growing cap, so writers that
        collided spread out instead of colliding again in step."""
        deadline = time.monotonic() + self.patience
        tries = 0
        while True:
            try:
                return attempt()
            except IntegrityError:
                if time.monotonic() >= deadline:
                    raise ConcurrentChange(
                        "someone else kept changing the same record; try again"
                    ) from None
                time.sleep(random.uniform(0, min(self.max_pause, self.first_pause * 2**tries)))
                tries += 1

    def change(self, load: Callable[[], A], change: Callable[[A], object]) -> None:
        """Load one aggregate, apply one change and save it, retrying on a race."""

        def attempt() -> None:
            aggregate = load()
            change(aggregate)
            self.save(aggregate)

        self.retrying(attempt)

    # --- request references -------------------------------------------------

    def next_reference(self) -> str:
        """SR-… numbers come from blocks reserved per process: unique, not gap-free."""
        with self._numbers_lock:
            number = next(self._numbers, None)
            if number is None:
                self._numbers = self._reserve_block()
                number = next(self._numbers)
            return ids.format_reference(number)

    def _reserve_block(self) -> Iterator[int]:
        sequence_id = ids.sequence_id("service-request")
        size = self.reference_block_size

        def attempt() -> Iterator[int]:
            sequence = self.get(ReferenceSequence, sequence_id)
            if sequence is None:
                sequence = ReferenceSequence(name="service-request")
            start = sequence.next_number
            sequence.reserve(start=start, count=size)
            self.save(sequence)
            return iter(range(start, start + size))

        return self.retrying(attempt)
