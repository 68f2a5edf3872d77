"""Which read models exist and where each one's storage lives.

Where is given by the caller (the composition root passes its settings): SQLite
keeps each view in its own file under `<data_dir>/views/`, PostgreSQL keeps
every view in the event store's database, each with its own tracking table.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from eventsourcing.application import Application
from eventsourcing.persistence import PersistenceError
from eventsourcing.postgres import PostgresDatastore

from domain.private_files import create_private_file
from projections.account import AccountView
from projections.audit import AuditView
from projections.complaints import ComplaintsView
from projections.customers import CustomersView
from projections.field_jobs import FieldJobsView
from projections.inbox import InboxView
from projections.knowledge import KnowledgeView
from projections.knowledge_articles import KnowledgeArticlesView
from projections.notifications import NotificationsView
from projections.outbox import OutboxView
from projections.quality import QualityView
from projections.reminders import RemindersView
from projections.reports import ReportsView
from projections.runner import DecodedEvents, Projector
from projections.settlement import SettlementView
from projections.storage import PostgresViewStorage, SQLiteViewStorage, ViewStorage
from projections.timeline import TimelineView
from projections.unit_history import UnitHistoryView
from projections.view import View

VIEW_CLASSES: tuple[type[View], ...] = (
    InboxView,
    TimelineView,
    CustomersView,
    AuditView,
    ReportsView,
    KnowledgeView,
    KnowledgeArticlesView,
    OutboxView,
    AccountView,
    ComplaintsView,
    RemindersView,
    NotificationsView,
    QualityView,
    SettlementView,
    UnitHistoryView,
    FieldJobsView,
)


class DatabaseLocation(Protocol):
    @property
    def kind(self) -> str: ...  # "sqlite" | "postgresql"

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def user(self) -> str: ...

    @property
    def password(self) -> str: ...

    @property
    def name(self) -> str: ...


class Location(Protocol):
    """What the views need to know of the settings."""

    @property
    def database(self) -> DatabaseLocation: ...

    @property
    def data_dir(self) -> Path: ...


@dataclass
class ReadModels:
    storages: dict[str, ViewStorage]
    projectors: list[Projector]
    datastore: PostgresDatastore | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ViewStorage:
        return self.storages[name]

    def __contains__(self, name: str) -> bool:
        return name in self.storages

    def projector(self, name: str) -> Projector:
        for projector in self.projectors:
            if projector.name == name:
                return projector
        known = ", ".join(p.name for p in self.projectors)
        raise KeyError(f"no read model {name!r}; there are {known}")

    def close(self) -> None:
        for storage in self.storages.values():
            storage.close()
        if self.datastore is not None:
            self.datastore.close()


def view_database_path(data_dir: Path, view: str) -> Path:
    """SQLite fixes the library's table names, so each read model gets its own file."""
    return data_dir / "views" / f"{view}.db"


def open_read_models(
    location: Location, app: Application[Any], view_classes: tuple[type[View], ...] = ()
) -> ReadModels:
    classes = view_classes or VIEW_CLASSES
    return open_views(location, app, [_built(cls, location) for cls in classes])


def _built(cls: type[View], location: Location) -> View:
    """A view that needs settings (the inbox its SLA policy) says so with a
    `configured(location)` class method; the others take no arguments."""
    configured = getattr(cls, "configured", None)
    return configured(location) if configured is not None else cls()


def open_views(location: Location, app: Application[Any], views: Iterable[View]) -> ReadModels:
    """Storage and a projector for each view instance (policies bring their own)."""
    database = location.database
    storages: dict[str, ViewStorage] = {}
    datastore = None
    if database.kind == "sqlite":
        for view in views:
            path = view_database_path(location.data_dir, view.name)
            create_private_file(path)  # 0600 in a 0700 folder: views hold customers' data
            storages[view.name] = _created(functools.partial(SQLiteViewStorage, path, view))
    else:
        datastore = PostgresDatastore(
            dbname=database.name, host=database.host, port=database.port,
            user=database.user or "postgres", password=database.password,
            pool_size=4, max_overflow=8,
        )
        for view in views:
            storages[view.name] = _created(
                functools.partial(PostgresViewStorage, datastore, view))
    decoded = DecodedEvents()  # one decode of each event for all these views
    projectors = [Projector(app, storage, decoded) for storage in storages.values()]
    return ReadModels(storages, projectors, datastore)


STARTUP_ATTEMPTS = 10


def _created(make: Callable[[], ViewStorage]) -> ViewStorage:
    """Processes that start together each run CREATE TABLE IF NOT EXISTS for every
    view; PostgreSQL can refuse the losers of that race ("duplicate key ... pg_type")
    and SQLite can answer "database is locked".  By the next try the tables exist."""
    for attempt in range(STARTUP_ATTEMPTS):
        try:
            return make()
        except PersistenceError:
            if attempt == STARTUP_ATTEMPTS - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")
