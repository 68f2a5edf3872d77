"""Files that hold customers' data or credentials are their owner's alone: the SQLite
event store and views, the blob store and the generated secret are 0600 in 0700
folders from the moment they exist, whatever the umask; on both stores."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.private_files import create_private_file, publish_private_file
from domain.users.commands import AddUser
from ledgerdesk.config import Database, Settings, load_settings
from ledgerdesk.persistence import event_store_env
from projections.registry import open_read_models


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The worst umask an operator could have: nothing masked."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes_under(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): mode(p) for p in [root, *root.rglob("*")]}


def test_the_store_views_blobs_and_secret_are_private(
    store: Database, tmp_path: Path, open_umask: None
) -> None:
    data_dir = tmp_path / "deploy" / "var"  # neither folder exists yet
    if store.kind == "sqlite":
        store = Database(kind="sqlite", path=data_dir / "ledgerdesk.db")
    settings = load_settings(
        environ={"LEDGERDESK_DATA_DIR": str(data_dir)}, config_file=tmp_path / "none.toml")
    settings = Settings(database=store, data_dir=data_dir, blob_dir=data_dir / "blobs",
                        secret_key=settings.secret_key)
    app = Ledgerdesk(env=event_store_env(store))
    try:
        app.handle(AddUser("a@desk.cn", ["agent"], actor="t"))  # the SQLite -wal and -shm
        open_read_models(settings, app).close()
        BlobStore(settings.blob_dir).put(b"%PDF fax page", "fax.pdf")
    finally:
        app.close()

    found = modes_under(data_dir)
    assert "secret_key" in found and any(name.startswith("blobs/") for name in found)
    if store.kind == "sqlite":
        assert {"ledgerdesk.db", "views/inbox.db"} <= set(found)
    for name, found_mode in found.items():
        wanted = 0o700 if (data_dir / name).is_dir() else 0o600
        assert found_mode == wanted, f"{name} is {oct(found_mode)}"
    assert mode(tmp_path / "deploy") == 0o700  # a parent we created for it, too


def test_folders_that_exist_keep_their_mode(tmp_path: Path, open_umask: None) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    assert create_private_file(shared / "views" / "inbox.db")
    assert mode(shared) == 0o755  # the operator's choice
    assert (mode(shared / "views"), mode(shared / "views" / "inbox.db")) == (0o700, 0o600)
    assert not create_private_file(shared / "views" / "inbox.db")  # exists: left alone


def test_a_secret_is_published_whole_and_once(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "var" / "secret_key"
    winners: list[bool] = []
    barrier = threading.Barrier(8)

    def publish(n: int) -> None:
        barrier.wait()
        winners.append(publish_private_file(path, f"key-{n}"))

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert winners.count(True) == 1
    assert path.read_text().startswith("key-") and mode(path) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]  # no leftovers
    first = load_settings(environ={"LEDGERDESK_DATA_DIR": str(path.parent)},
                          config_file=tmp_path / "none.toml").secret_key
    assert first == path.read_text()  # the generated key is reused, not replaced
