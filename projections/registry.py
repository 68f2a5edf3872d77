"""Which read models exist and where each one's storage lives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresDatastore

from ledgerdesk.config import Settings
from ledgerdesk.persistence import view_database_path
from projections.audit import AuditView
from projections.customers import CustomersView
from projections.inbox import InboxView
from projections.knowledge import KnowledgeView
from projections.outbox import OutboxView
from projections.reports import ReportsView
from projections.runner import Projector
from projections.storage import PostgresViewStorage, SQLiteViewStorage, ViewStorage
from projections.timeline import TimelineView
from projections.view import View

VIEW_CLASSES: tuple[type[View], ...] = (
    InboxView,
    TimelineView,
    CustomersView,
    AuditView,
    ReportsView,
    KnowledgeView,
    OutboxView,
)


@dataclass
class ReadModels:
    storages: dict[str, ViewStorage]
    projectors: list[Projector]
    datastore: PostgresDatastore | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ViewStorage:
        return self.storages[name]

    def projector(self, name: str) -> Projector:
        for projector in self.projectors:
            if projector.name == name:
                return projector
        raise KeyError(name)

    def close(self) -> None:
        for storage in self.storages.values():
            storage.close()
        if self.datastore is not None:
            self.datastore.close()


def open_read_models(
    settings: Settings, app: Application[Any], view_classes: tuple[type[View], ...] = ()
) -> ReadModels:
    classes = view_classes or VIEW_CLASSES
    database = settings.database
    storages: dict[str, ViewStorage] = {}
    datastore = None
    if database.kind == "sqlite":
        for cls in classes:
            storages[cls.name] = SQLiteViewStorage(
                view_database_path(settings.data_dir, cls.name), cls()
            )
    else:
        datastore = PostgresDatastore(
            dbname=database.name, host=database.host, port=database.port,
            user=database.user or "postgres", password=database.password,
            pool_size=4, max_overflow=8,
        )
        for cls in classes:
            storages[cls.name] = PostgresViewStorage(datastore, cls())
    projectors = [Projector(app, storage) for storage in storages.values()]
    return ReadModels(storages, projectors, datastore)
