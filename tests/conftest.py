"""Fixtures shared by every suite.

`store` is parametrised: a test that takes it (directly or through `app`) runs
once on the embedded SQLite store and once on a throw-away PostgreSQL database
created on 127.0.0.1:5432 and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from domain import ids
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.sealing import MEMORY_INDEX_KEY
from ledgerdesk.config import Database
from ledgerdesk.persistence import event_store_env

pytest_plugins = ["tests.support.mail_fixtures"]

# One master key for every store a test opens, in this process and in the CLI
# processes it starts (they inherit the environment).  Tests about master keys
# pass their own.
TEST_MASTER_KEY = "dGVzdCBtYXN0ZXIga2V5IGZvciBsZWRnZXJkZXNrISE="
os.environ["LEDGERDESK_MASTER_KEY"] = TEST_MASTER_KEY
# Keyed ids for tests that make aggregates without an application.
ids.use_index_key(MEMORY_INDEX_KEY, replace=False)

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
