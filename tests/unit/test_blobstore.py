from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from domain.blobstore import BlobStore, BlobTooLarge
from domain.errors import NotFound


def test_blobs_are_content_addressed_and_stored_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    first = store.put("报修单".encode(), "单.txt", "text/plain")
    again = store.put("报修单".encode(), "copy.txt", "text/plain")
    assert first["sha256"] == again["sha256"] == hashlib.sha256("报修单".encode()).hexdigest()
    assert store.get(first["sha256"]).decode() == "报修单"
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1
    assert first["size"] == len("报修单".encode())


def test_oversize_blob_is_refused_with_a_clear_error_and_nothing_written(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, max_bytes=10)
    with pytest.raises(BlobTooLarge, match=r"scan\.pdf is 11 bytes; the limit is 10 bytes"):
        store.put(b"x" * 11, "scan.pdf")
    assert not any(tmp_path.rglob("*"))


def test_unknown_or_malformed_blob_names_are_not_found(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(NotFound):
        store.get("0" * 64)
    with pytest.raises(NotFound):
        store.get("../../etc/passwd")
