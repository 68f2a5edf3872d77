"""Files: raw emails, attachments, fax images, each encrypted with a key of its own.

Every blob gets a fresh random 256-bit data key; the file holds
nonce(12) + AES-GCM(data), and is named by the sha256 of those bytes.  The
reference an event carries is

    {"blob": <name of the file>, "key": <the data key>, "sha256": <of the plaintext>,
     "filename", "content_type", "size"}

and sits in a personal field of the event, which the event store seals with
the customer's key (domain.sealing).  So a blob is readable exactly as long as
its customer's data is: once the customer is erased, the reference reads
`{"blob": "[erased]", "key": "[erased]", ...}` and the file can never be opened
again, wherever copies of it went.  `sha256` of the plaintext proves what the
bytes were while they can still be read.

Encrypted rather than deleted on erasure, because: raw mail is stored before
anyone knows whose it is (the sender is parsed afterwards); a content-addressed
file would be shared by every customer who sent the same PDF, so one erasure
could not delete it; deleting is a second step that can fail halfway and that
never reaches backups and copies; and a file named by the plaintext's hash is
a fingerprint that would outlive the erasure.  The price: the same bytes
stored twice are two files (no deduplication), and AES-GCM costs about 1 ms a
megabyte.

Files are written to a temporary name and renamed into place, so a crash never
leaves a half-written blob under a real name; 0600 in folders 0700.  References
from before encryption (a bare sha256, or a dict without "key") name plaintext
files by the plaintext's hash and are still read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.errors import DomainError, NotFound
from domain.personal import ERASED
from domain.private_files import private_dirs

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
ASSOCIATED_DATA = b"ledgerdesk blob v1"

BlobRef = Mapping[str, Any] | str


class BlobTooLarge(DomainError):
    code = "too_large"


class BlobDamaged(DomainError):
    """A blob's file does not decrypt or does not match its reference."""

    code = "damaged"


class BlobStore:
    def __init__(self, root: Path | str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def put(
        self, data: bytes, filename: str = "", content_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        """Store `data` encrypted and return the reference events carry."""
        if len(data) > self.max_bytes:
            raise BlobTooLarge(
                f"{filename or 'the file'} is {len(data):,} bytes; "
                f"the limit is {self.max_bytes:,} bytes",
                fields={"file": "too large"},
            )
        key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        sealed = nonce + AESGCM(key).encrypt(nonce, data, ASSOCIATED_DATA)
        name = hashlib.sha256(sealed).hexdigest()
        self._write(self.path_of(name), sealed)
        return {
            "blob": name,
            "key": base64.urlsafe_b64encode(key).decode(),
            "sha256": hashlib.sha256(data).hexdigest(),
            "filename": filename,
            "content_type": content_type,
            "size": len(data),
        }

    def get(self, ref: BlobRef) -> bytes:
        """The plaintext of the blob `ref` names.  NotFound for a reference whose
        customer was erased, or a file that is gone; BlobDamaged for one altered."""
        name, key, digest = self._parts(ref)
        try:
            stored = self.path_of(name).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no blob {name}") from None
        if key is None:
            return stored  # a plaintext blob from before encryption
        try:
            data = AESGCM(key).decrypt(stored[:12], stored[12:], ASSOCIATED_DATA)
        except (InvalidTag, ValueError):
            raise BlobDamaged(f"blob {name} does not decrypt with its key: the file was "
                              f"altered, or the reference is not this file's") from None
        if digest is not None and hashlib.sha256(data).hexdigest() != digest:
            raise BlobDamaged(f"blob {name} is not the file its reference describes")
        return data

    def exists(self, ref: BlobRef) -> bool:
        try:
            name, _, _ = self._parts(ref)
            return self.path_of(name).exists()
        except NotFound:
            return False

    def path_of(self, name: str) -> Path:
        if len(name) != 64 or any(c not in "0123456789abcdef" for c in name):
            raise NotFound(f"no blob {name[:80]!r}")
        return self.root / name[:2] / name[2:4] / name

    @staticmethod
    def _parts(ref: BlobRef) -> tuple[str, bytes | None, str | None]:
        """(file name, data key or None for a plaintext blob, plaintext sha256)."""
        if isinstance(ref, str):
            if ref == ERASED:
                raise NotFound("this file belonged to an erased customer and cannot be read")
            return ref, None, None
        if ERASED in (ref.get("blob"), ref.get("key"), ref.get("sha256")):
            raise NotFound("this file belonged to an erased customer and cannot be read")
        if "key" not in ref:
            return str(ref.get("sha256", "")), None, None
        try:
            key = base64.urlsafe_b64decode(str(ref["key"]))
        except (binascii.Error, ValueError):
            raise NotFound("a blob reference with an unreadable key") from None
        if len(key) != 32:
            raise NotFound("a blob reference with an unreadable key")
        return str(ref.get("blob", "")), key, ref.get("sha256")

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        private_dirs(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
