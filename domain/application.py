"""The write side's one entry point: `Ledgerdesk.handle(command)`.

One `eventsourcing` Application holds every aggregate (one event log, one
notification sequence for the projections and the audit chain); the commands
and their handlers live with their bounded context (domain.customers,
domain.requests, domain.users, domain.knowledge, domain.installed_base, and
the workflows to come).  A thin dispatcher rather than several applications:
the contexts share one store and one log, and several applications would each
need their own tracking and their own position in the audit chain.

The few lookup methods below read one aggregate by its natural key; they are
what entry points need to authenticate a caller or show a record before the
read models have caught up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import PersistenceError, Recording
from eventsourcing.utils import resolve_topic

from domain import ids
from domain.account import handlers as account
from domain.aggregates.customer import Customer
from domain.aggregates.installed_product import InstalledProduct
from domain.aggregates.knowledge import KnowledgeArticle
from domain.aggregates.service_request import ServiceRequest
from domain.aggregates.user import User
from domain.cache import CoherentRepository
from domain.chat_links import handlers as chat_links
from domain.clock import Clock
from domain.commands import Handler, merged
from domain.complaints import handlers as complaints
from domain.customers import erasure
from domain.customers import handlers as customers
from domain.field_service import handlers as field_service
from domain.installed_base import handlers as installed_base
from domain.knowledge import handlers as knowledge
from domain.notifications import handlers as notifications
from domain.parts import handlers as parts
from domain.quality import handlers as quality
from domain.reminders import handlers as reminders
from domain.requests import batch as batches
from domain.requests import fax as faxes
from domain.requests import handlers as requests
from domain.requests import interactions
from domain.requests.lookup import load_request
from domain.returns import handlers as returns
from domain.routing.settings import RoutingSettings
from domain.sealing import (
    ENVELOPE,
    KeyRing,
    KeyStoreError,
    MemoryKeyRing,
    SealingMapper,
    owner_of,
    sealing_for,
)
from domain.sla import handlers as sla
from domain.store import Store
from domain.teams import handlers as teams
from domain.text import check_command
from domain.users import handlers as users
from domain.users import links as password_links

HANDLERS: dict[type, Handler] = merged(
    customers.handlers,
    erasure.handlers,
    requests.handlers,
    interactions.handlers,
    batches.handlers,
    chat_links.handlers,
    faxes.handlers,
    users.handlers,
    password_links.handlers,
    knowledge.handlers,
    installed_base.handlers,
    account.handlers,
    sla.handlers,
    teams.handlers,
    complaints.handlers,
    reminders.handlers,
    notifications.handlers,
    returns.handlers,
    quality.handlers,
    field_service.handlers,
    parts.handlers,
)

STARTUP_ATTEMPTS = 10


class Ledgerdesk(Application[UUID]):
    name = "ledgerdesk"  # also the application name recorded by projection tracking
    # No snapshots: a snapshot is an aggregate's whole state, personal data
    # included, and would need sealing of its own (DESIGN.md allows either).
    # Streams stay short (interactions are no longer written to the customer's
    # stream) and the repository's cache keeps the busy aggregates in memory.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Clock | None = None,
        reply_channels: Iterable[str] = ("web",),
        keys: KeyRing | None = None,
        routing: RoutingSettings | None = None,
    ) -> None:
        # Per-customer keys for personal data (domain.sealing); the composition
        # root passes the database-backed key store, tests may use memory.
        self.keys: KeyRing = keys if keys is not None else key_ring_from(env)
        ids.use_index_key(self.keys.index_key(), replace=not isinstance(self.keys, MemoryKeyRing))
        # Processes that start together (serve, email poll, a bench's writers) each
        # run the library's CREATE TABLE IF NOT EXISTS; PostgreSQL can refuse the
        # losers of that race in several ways ("tuple concurrently updated", a
        # duplicate type name, "already exists").  By the next try the tables exist
        # and the statement is a no-op.  SQLite may answer "database is locked" at
        # once instead of waiting.  A store that is really down fails every try.
        for attempt in range(STARTUP_ATTEMPTS):
            try:
                super().__init__(env)
                break
            except PersistenceError:
                if attempt == STARTUP_ATTEMPTS - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))
        # `reply_channels`: the channels with a configured sender; the portal
        # ("web") always shows replies, the composition root adds the others.
        self.store = Store(self, clock, reply_channels, routing)
        # Called after every save with its recordings (the projection runner's
        # wake-up in this process: ledgerdesk.wakeup).
        self.saved_listeners: list[Callable[[list[Recording[UUID]]], None]] = []
        check_key_store(self)
        listeners = getattr(self.keys, "listeners", None)
        if listeners is not None:
            # A customer erased (here or in another process): aggregates read in
            # clear before it must not be served from memory any more.
            listeners.append(self._forget_cached_aggregates)

    def construct_mapper(self) -> SealingMapper:
        return SealingMapper(
            self.construct_transcoder(), self.keys, compressor=self.factory.compressor()
        )

    def construct_repository(self) -> Repository[UUID]:
        size = int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 0)
        if size <= 0:
            return super().construct_repository()
        return CoherentRepository(self.events, self.recorder, size)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The one write path: tells the mapper whose key seals each aggregate's events."""
        aggregates = [a for a in objs if isinstance(a, Aggregate)]
        owners = {a.id: owner_of(a) for a in aggregates}
        if len(aggregates) != len(objs):  # events or None among them: the library's way
            with sealing_for(owners):
                return super().save(*objs, **kwargs)
        # The library's save less its checks against typing Protocols, which were
        # a fifth of a recorded interaction's time: ours are always Aggregates.
        processing = ProcessingEvent[UUID]()
        for aggregate in aggregates:
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        processing.saved_kwargs.update(kwargs)
        repository = self.repository
        try:
            with sealing_for(owners):
                recordings = self._record(processing)
        except BaseException:
            if isinstance(repository, CoherentRepository):
                repository.failed(aggregates)
            raise
        if isinstance(repository, CoherentRepository):
            repository.saved(recordings)
        self._notify(recordings)
        return recordings

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        for listener in self.saved_listeners:
            listener(recordings)

    @property
    def clock(self) -> Clock:
        return self.store.clock

    def _forget_cached_aggregates(self, _key_ids: set[str]) -> None:
        # A fresh cache, rather than LRUCache.clear(): the library's clear() resets
        # the recency list only and leaves the cached aggregates where they were.
        if isinstance(self.repository, CoherentRepository):
            self.repository.forget_all()

    def close(self) -> None:
        super().close()
        closing = getattr(self.keys, "close", None)
        if closing is not None:
            closing()

    def handle(self, command: object) -> Any:
        """Run one command; returns what its handler returns (a reference, an id...)."""
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        # Whatever the entry point, nothing that would break a later read is stored.
        check_command(command)
        repository = self.repository
        if isinstance(repository, CoherentRepository):
            # The aggregates it reads are its own until it ends (domain.cache).
            with repository.checkout():
                return handler(self.store, command)
        return handler(self.store, command)

    # --- lookups by natural key ------------------------------------------------

    def customer(self, code: str) -> Customer:
        return customers.load_customer(self.store, code)

    def customer_by_identity(self, kind: str, value: str) -> Customer | None:
        return customers.customer_by_identity(self.store, kind, value)

    def service_request(self, reference: str) -> ServiceRequest:
        return load_request(self.store, reference)

    def user(self, email: str) -> User:
        return users.load_user(self.store, email)

    def product(self, serial: str) -> InstalledProduct:
        return installed_base.load_product(self.store, serial)

    def article(self, article_id: str) -> KnowledgeArticle:
        return knowledge.load_article(self.store, article_id)

    def authenticate_token(self, token: str) -> User:
        return users.authenticate_token(self.store, token)

    def authenticate_password(self, email: str, password: str) -> User:
        return users.authenticate_password(self.store, email, password)


def key_ring_from(env: dict[str, str] | None) -> KeyRing:
    """The key ring the event store's settings name (LEDGERDESK_KEYRING_TOPIC, set
    by the composition root, as the library's PERSISTENCE_MODULE is), else memory."""
    topic = (env or {}).get("LEDGERDESK_KEYRING_TOPIC")
    if not topic:
        return MemoryKeyRing()
    opener = resolve_topic(topic)
    ring: KeyRing = opener(env)
    return ring


# How many of the newest events are looked at for sealed data when a key store
# has just been created: a fresh key store beside a store that already holds
# sealed events means the real key store was lost or is elsewhere.
FRESH_KEY_STORE_LOOKBACK = 200


def check_key_store(app: Ledgerdesk) -> None:
    if not getattr(app.keys, "created_now", False):
        return
    newest = app.recorder.max_notification_id() or 0
    start = max(newest - FRESH_KEY_STORE_LOOKBACK, 0)
    recent = app.recorder.select_notifications(start=start, limit=FRESH_KEY_STORE_LOOKBACK + 1)
    if any(f'"{ENVELOPE}"'.encode() in bytes(n.state) for n in recent):
        raise KeyStoreError(
            "the key store was just created, but this event store holds sealed personal "
            "data: the key store that goes with it is missing (restore it, and the master "
            "key) - starting would make every customer look erased"
        )
