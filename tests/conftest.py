"""Fixtures shared by every suite.

`store` is parametrised: a test that takes it (directly or through `app`) runs
once on the embedded SQLite store and once on a throw-away PostgreSQL database
created on 127.0.0.1:5432 and dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from ledgerdesk.config import Database
from ledgerdesk.persistence import event_store_env

pytest_plugins = ["tests.support.mail_fixtures"]

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def create_pg_database() -> str:
    name = f"ld_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, empty event store of each kind."""
    if request.param == "sqlite":
        yield Database(kind="sqlite", path=tmp_path / "events.db")
        return
    name = create_pg_database()
    try:
        yield Database(kind="postgresql", host="127.0.0.1", port=5432, user="postgres", name=name)
    finally:
        drop_pg_database(name)


@pytest.fixture
def app(store: Database) -> Iterator[Ledgerdesk]:
    # Domain tests reply on email and web requests; which channels can deliver
    # is the composition root's business (see test_reply_routing for the rule).
    application = Ledgerdesk(env=event_store_env(store), reply_channels=("email", "web"))
    yield application
    application.close()


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs", max_bytes=1024 * 1024)
