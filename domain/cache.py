"""The aggregate cache, kept coherent from the event log instead of per read.

The library's cached repository pays two costs on every read of a cached
aggregate: a query for newer events (its "fast-forward", which also decodes
and unseals the events this very process has just written) and a deep copy
(so a command that fails half-way cannot leave a changed aggregate in the
cache).  A recorded interaction reads two aggregates, so those were most of
its time (bench/ingest.py).

Here instead:

- Coherence comes from the log.  Before a command reads, one query asks for
  the log's head; when other processes wrote since we last looked, their
  notifications are read once and the aggregates they name are dropped from
  the cache.  Our own writes move the mark without a read.  A stale read can
  still lose a race, as with the library's fast-forward (which also reads
  before it writes): the atomic save refuses it with a version conflict, and
  the aggregates of a failed save are never cached again.
- No deep copy.  A command checks an aggregate out of the cache (nobody else
  can see it while the command holds it) and gives it back when it ends, only
  if it holds no unsaved change: no pending events, no failed save.  A read
  outside a command (a page showing a record) gets a copy, as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import LRUCache, Repository, project_aggregate
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ApplicationRecorder, EventStore, Recording

# Newer notifications than this since the last look: forget the whole cache
# rather than read them all (a process waking after a long pause).
SYNC_LIMIT = 2000
# How many aggregates' newest versions (as seen in the log) are remembered, so an
# aggregate checked out before another process changed it is not given back.
LATEST_SIZE = 50_000


@dataclass
class Checkout:
    """The aggregates one command holds, and where the log was when it began."""

    position: int
    generation: int
    held: dict[UUID, Aggregate] = field(default_factory=dict)
    tainted: set[UUID] = field(default_factory=set)
    synced: bool = False


class CoherentRepository(Repository[UUID]):
    def __init__(self, event_store: EventStore[UUID], recorder: ApplicationRecorder,
                 cache_maxsize: int) -> None:
        # fastforward=True only keeps the library's save from putting saved
        # aggregates in the cache: giving them back is ours (end of a checkout).
        super().__init__(event_store, cache_maxsize=cache_maxsize, fastforward=True)
        self.recorder = recorder
        self._lock = threading.Lock()
        self._seen = recorder.max_notification_id() or 0
        self._latest: OrderedDict[UUID, int] = OrderedDict()
        self._floor = 0  # the log position of the newest version forgotten from _latest
        self._generation = 0  # counts forget_all(): nothing held before is given back
        self._scope: ContextVar[Checkout | None] = ContextVar("checkout", default=None)

    # --- the command's scope ------------------------------------------------------

    @contextmanager
    def checkout(self) -> Iterator[None]:
        if self._scope.get() is not None:  # a command inside a command: one scope
            yield
            return
        scope = Checkout(position=self._seen, generation=self._generation)
        token = self._scope.set(scope)
        try:
            yield
        finally:
            self._scope.reset(token)
            for aggregate_id, aggregate in scope.held.items():
                if aggregate_id not in scope.tainted:
                    self._give_back(aggregate, scope.position, scope.generation)

    def saved(self, recordings: list[Recording[UUID]]) -> None:
        """Our own write: the log mark moves past it without reading it back."""
        ids = [r.notification.id for r in recordings]
        with self._lock:
            for r in recordings:
                self._note(r.domain_event.originator_id, r.domain_event.originator_version, 0)
            if ids and ids[0] == self._seen + 1 and ids == list(range(ids[0], ids[-1] + 1)):
                self._seen = ids[-1]

    def hold(self, aggregates: list[Aggregate]) -> None:
        """Aggregates this command made: its later reads find them (a batch)."""
        scope = self._scope.get()
        if scope is None:
            raise RuntimeError("hold() outside a command")
        for aggregate in aggregates:
            scope.held.setdefault(aggregate.id, aggregate)
            scope.tainted.discard(aggregate.id)

    def abandon(self) -> None:
        """Forget every change this command made and did not save: the
        aggregates it changed are read afresh, those it made are gone."""
        scope = self._scope.get()
        if scope is None:
            return
        for aggregate_id, aggregate in list(scope.held.items()):
            if aggregate.pending_events:
                del scope.held[aggregate_id]

    def failed(self, aggregates: list[Aggregate]) -> None:
        """A save that failed: these aggregates hold changes the store does not."""
        scope = self._scope.get()
        for aggregate in aggregates:
            if scope is not None and scope.held.get(aggregate.id) is aggregate:
                scope.tainted.add(aggregate.id)
                del scope.held[aggregate.id]
            self._evict(aggregate.id)

    def forget_all(self) -> None:
        assert isinstance(self.cache, LRUCache)
        with self._lock:
            # A fresh cache, rather than LRUCache.clear(): the library's clear()
            # resets the recency list only and leaves the cached aggregates there.
            self.cache = LRUCache(maxsize=self.cache.maxsize)
            self._generation += 1
            self._floor = self._seen = self.recorder.max_notification_id() or 0

    # --- reading ----------------------------------------------------------------

    def get(self, aggregate_id: UUID, *, version: int | None = None,
            **kwargs: Any) -> Any:
        if version is not None or self.cache is None:
            return super().get(aggregate_id, version=version, **kwargs)
        scope = self._scope.get()
        if scope is None:
            self.sync()
            position, generation = self._seen, self._generation
            aggregate = self._take(aggregate_id)
            copy = deepcopy(aggregate)
            self._give_back(aggregate, position, generation)
            return copy
        held = scope.held.get(aggregate_id)
        if held is not None:
            return held
        if not scope.synced:
            self.sync()
            scope.synced = True
            scope.position, scope.generation = self._seen, self._generation
        aggregate = self._take(aggregate_id)
        scope.held[aggregate_id] = aggregate
        scope.tainted.discard(aggregate_id)  # read afresh: what the store holds
        return aggregate

    def sync(self) -> None:
        """Drop what other processes changed since we last looked at the log."""
        head = self.recorder.max_notification_id() or 0
        with self._lock:
            seen = self._seen
        if head <= seen:
            return
        if head - seen > SYNC_LIMIT:
            self.forget_all()
            return
        notifications = self.recorder.select_notifications(
            start=seen, limit=head - seen, stop=head, inclusive_of_start=False)
        with self._lock:
            for n in notifications:
                originator_id = UUID(str(n.originator_id))
                self._note(originator_id, n.originator_version, n.id)
                self._evict_older(originator_id, n.originator_version)
            self._seen = max(self._seen, head)

    # --- inside -----------------------------------------------------------------

    def _take(self, aggregate_id: UUID) -> Aggregate:
        """The aggregate, now held by the caller alone: out of the cache, or read."""
        assert self.cache is not None
        try:
            return cast("Aggregate", self.cache.get(aggregate_id, evict=True))
        except KeyError:
            pass
        read: Any = self._reconstruct_aggregate(
            aggregate_id, None, project_aggregate)  # type: ignore[arg-type]
        return cast("Aggregate", read)

    def _give_back(self, aggregate: Aggregate, position: int, generation: int) -> None:
        if aggregate.pending_events:  # changed but never saved: not what the store holds
            return
        assert self.cache is not None
        with self._lock:
            if generation != self._generation or position < self._floor:
                return  # we may have forgotten a newer version seen in the meantime
            if self._latest.get(aggregate.id, 0) > aggregate.version:
                return  # another process changed it while it was checked out
            try:
                cached = cast("Aggregate", self.cache.get(aggregate.id))
            except KeyError:
                self.cache.put(aggregate.id, aggregate)
                return
            if cached.version < aggregate.version:
                self.cache.put(aggregate.id, aggregate)

    def _note(self, aggregate_id: Any, version: int, position: int) -> None:
        """Remember the newest version of an aggregate seen (lock held)."""
        if self._latest.get(aggregate_id, 0) < version:
            self._latest[aggregate_id] = version
            self._latest.move_to_end(aggregate_id)
        while len(self._latest) > LATEST_SIZE:
            self._latest.popitem(last=False)
            self._floor = max(self._floor, self._seen, position)

    def _evict_older(self, aggregate_id: UUID, version: int) -> None:
        assert self.cache is not None
        try:
            cached = cast("Aggregate", self.cache.get(aggregate_id))
        except KeyError:
            return
        if cached.version < version:
            self.cache.get(aggregate_id, evict=True)

    def _evict(self, aggregate_id: UUID) -> None:
        assert self.cache is not None
        with self._lock, suppress(KeyError):
            self.cache.get(aggregate_id, evict=True)
