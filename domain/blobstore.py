"""Content-addressed files: raw emails, attachments, fax images.

A blob is named by the sha256 of its bytes, so storing the same attachment
twice keeps one file, and an event that references a blob also proves what the
bytes were.  Files are written to a temporary name and renamed into place, so a
crash never leaves a half-written blob under a real name.  Blobs are raw mail
and customers' documents: files 0600 (mkstemp's mode, kept by the rename) in
folders 0700, whatever the umask.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from domain.errors import DomainError, NotFound
from domain.private_files import private_dirs

DEFAULT_MAX_BYTES = 25 * 1024 * 1024


class BlobTooLarge(DomainError):
    code = "too_large"


class BlobStore:
    def __init__(self, root: Path | str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def put(
        self, data: bytes, filename: str = "", content_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        """Store `data` and return the attachment reference events carry."""
        if len(data) > self.max_bytes:
            raise BlobTooLarge(
                f"{filename or 'the file'} is {len(data):,} bytes; "
                f"the limit is {self.max_bytes:,} bytes",
                fields={"file": "too large"},
            )
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_of(digest)
        if not path.exists():
            private_dirs(path.parent)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return {
            "sha256": digest,
            "filename": filename,
            "content_type": content_type,
            "size": len(data),
        }

    def get(self, sha256: str) -> bytes:
        path = self.path_of(sha256)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no blob {sha256}") from None

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).exists()

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise NotFound(f"no blob {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256
