"""What a read model is: tables, and how each event changes them.

A view is written once, in SQL that SQLite and PostgreSQL both accept (TEXT
timestamps in ISO-8601 UTC, JSON as TEXT, `?` placeholders, INSERT ... ON
CONFLICT).  `Db` hides the one difference that matters to a view, the
placeholder style, and hands back rows as dicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar, TypeVar

EventHandler = Callable[[Any, "Db", Any, int], None]
EventsAt = Callable[[Sequence[int]], list[tuple[Any, Any]]]
F = TypeVar("F", bound=Callable[..., None])


class Db:
    """A cursor inside one view transaction."""

    def __init__(self, cursor: Any, dialect: str) -> None:
        self.cursor = cursor
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self.dialect == "postgresql":
            sql = _pyformat(sql)
        self.cursor.execute(sql, tuple(params))

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Append many rows at once: COPY on PostgreSQL, executemany on SQLite.
        Only for rows that cannot exist yet (the tracking position guarantees
        each event is applied once); a duplicate fails the whole batch."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.dialect == "postgresql":
            with self.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            self.cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def fetchall(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.cursor.fetchall()]

    def fetchone(self) -> dict[str, Any] | None:
        row = self.cursor.fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self.execute(sql, params)
        return self.fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        self.execute(sql, params)
        return self.fetchone()


@lru_cache(maxsize=512)
def _pyformat(sql: str) -> str:
    """`?` placeholders as psycopg wants them.  No view's SQL has a literal `?`."""
    return sql.replace("?", "%s")


def handles(*event_classes: type) -> Callable[[F], F]:
    """Marks a view method as the handler of these event classes."""

    def mark(method: F) -> F:
        method.__dict__.setdefault("_handles", []).extend(event_classes)
        return method

    return mark


class View:
    """Base class of read models.  Subclasses set `name`, `schema` (CREATE
    statements, all IF NOT EXISTS), `tables` (for dropping), and mark handlers
    with @handles.  Events without a handler are skipped."""

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1  # raise it when the tables change: the view is rebuilt
    schema: ClassVar[tuple[str, ...]] = ()
    tables: ClassVar[tuple[str, ...]] = ()
    _handlers: ClassVar[dict[type, EventHandler]]
    # Set by the projector: reads events of the log again (domain.sealing decodes
    # an erased customer's events with placeholders), so a view can re-derive
    # rows it wrote from them before the erasure.
    events_at: EventsAt | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                for event_class in getattr(attr, "_handles", ()):
                    cls._handlers[event_class] = attr

    def apply(self, db: Db, event: Any, position: int) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(self, db, event, position)

    def begin(self, db: Db) -> None:
        """Called at the start of every write transaction.  A view may keep state
        for the length of one transaction only: it may roll back."""

    def end(self, db: Db) -> None:
        """Called after the last event of a write transaction, before its tracking
        position is written: where a view flushes rows it gathered in `begin`."""

    def reread(self, positions: Sequence[int]) -> list[tuple[Any, Any]]:
        if self.events_at is None:
            raise RuntimeError(f"view {self.name} is not bound to a projector")
        return self.events_at(positions)

    def apply_notification(self, db: Db, event: Any, notification: Any) -> None:
        """Views that need the stored bytes (the audit trail) override this."""
        self.apply(db, event, notification.id)


class RowBuffer:
    """Rows a view appends during one write transaction, sent in one go at its
    end (`Db.insert_rows`) instead of one statement per event."""

    def __init__(self, table: str, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.rows: list[tuple[Any, ...]] = []

    def add(self, *row: Any) -> None:
        self.rows.append(row)

    def clear(self) -> None:
        self.rows = []

    def flush(self, db: Db) -> None:
        db.insert_rows(self.table, self.columns, self.rows)
        self.rows = []


def iso(moment: datetime | None) -> str | None:
    """Timestamps are stored as fixed-width UTC ISO strings, so they sort as text."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def from_json(text: str | None) -> Any:
    return json.loads(text) if text else None

