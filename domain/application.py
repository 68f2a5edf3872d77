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
from collections.abc import Iterable
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import PersistenceError

from domain.aggregates.customer import Customer
from domain.aggregates.installed_product import InstalledProduct
from domain.aggregates.knowledge import KnowledgeArticle
from domain.aggregates.service_request import ServiceRequest
from domain.aggregates.user import User
from domain.clock import Clock
from domain.commands import Handler, merged
from domain.customers import handlers as customers
from domain.installed_base import handlers as installed_base
from domain.knowledge import handlers as knowledge
from domain.requests import handlers as requests
from domain.requests import interactions
from domain.requests.lookup import load_request
from domain.store import Store
from domain.text import check_command
from domain.users import handlers as users

HANDLERS: dict[type, Handler] = merged(
    customers.handlers,
    requests.handlers,
    interactions.handlers,
    users.handlers,
    knowledge.handlers,
    installed_base.handlers,
)

STARTUP_ATTEMPTS = 10


class Ledgerdesk(Application[UUID]):
    name = "ledgerdesk"  # also the application name recorded by projection tracking
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Customer: 200,
        ServiceRequest: 200,
        User: 100,
    }

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Clock | None = None,
        reply_channels: Iterable[str] = ("web",),
    ) -> None:
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
        self.store = Store(self, clock, reply_channels)

    @property
    def clock(self) -> Clock:
        return self.store.clock

    def handle(self, command: object) -> Any:
        """Run one command; returns what its handler returns (a reference, an id...)."""
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        # Whatever the entry point, nothing that would break a later read is stored.
        check_command(command)
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
