from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from domain.blobstore import BlobDamaged, BlobStore, BlobTooLarge
from domain.errors import NotFound


def files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_blobs_are_encrypted_each_with_a_key_of_its_own(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    text = "报修单：朝阳区建国路88号".encode()
    first = store.put(text, "单.txt", "text/plain")
    again = store.put(text, "copy.txt", "text/plain")
    assert first["sha256"] == again["sha256"] == hashlib.sha256(text).hexdigest()
    assert first["blob"] != again["blob"] and first["key"] != again["key"]
    assert store.get(first) == store.get(again) == text
    assert len(files(tmp_path)) == 2  # one customer's erasure cannot touch another's copy
    for path in files(tmp_path):  # nothing of the text, nor its hash, on disk
        assert text not in path.read_bytes() and first["sha256"] not in path.name
    assert first["size"] == len(text)


def test_an_erased_reference_cannot_be_read(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    ref = store.put(b"invoice", "invoice.pdf", "application/pdf")
    erased = {**ref, "blob": "[erased]", "key": "[erased]", "sha256": "[erased]"}
    with pytest.raises(NotFound, match="erased customer"):
        store.get(erased)
    with pytest.raises(NotFound, match="erased customer"):
        store.get("[erased]")
    assert not store.exists(erased)
    # Even with the file's name, the bytes are nothing without the key.
    with pytest.raises(BlobDamaged):
        store.get({**ref, "key": base64.urlsafe_b64encode(b"k" * 32).decode()})


def test_an_altered_file_is_refused_not_returned(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    ref = store.put(b"the real bytes", "a.txt", "text/plain")
    path = store.path_of(ref["blob"])
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(BlobDamaged, match="was altered"):
        store.get(ref)


def test_plaintext_blobs_from_before_encryption_are_still_read(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = hashlib.sha256(b"old").hexdigest()
    store.path_of(digest).parent.mkdir(parents=True)
    store.path_of(digest).write_bytes(b"old")
    assert store.get(digest) == b"old"
    assert store.get({"sha256": digest, "filename": "a", "size": 3}) == b"old"


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
