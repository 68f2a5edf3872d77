"""Files people attach in the console and the portal, into the blob store.

Each file is read in chunks up to the blob store's limit and refused with a
413 naming it past that, before anything is recorded; the browser's file
name is kept as text (no path, no control characters), and its declared type
only as a hint: downloads never trust it (channels.web.attachments).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from domain.blobstore import BlobStore, BlobTooLarge
from domain.errors import invalid

MAX_FILES = 10
CHUNK = 256 * 1024
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")


def clean_filename(raw: str | None) -> str:
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("", name).strip().lstrip(".")
    return name[:200] or "attachment"


def declared_type(raw: str | None) -> str:
    value = (raw or "").split(";", 1)[0].strip().lower()
    return value if _TYPE.fullmatch(value) else "application/octet-stream"


# What customers may upload through the portal (staff may attach anything):
# photos, scans, documents and archives, checked against their first bytes
# where the type has a signature.
CUSTOMER_TYPES = {
    "image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8\xff", "image/gif": b"GIF8",
    "image/webp": b"RIFF", "image/tiff": b"", "application/pdf": b"%PDF",
    "text/plain": b"", "text/csv": b"", "application/zip": b"PK",
    "application/msword": b"", "application/vnd.ms-excel": b"",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": b"PK",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": b"PK",
    "video/mp4": b"", "audio/mpeg": b"",
}


def check_customer_file(name: str, content_type: str, data: bytes, field: str) -> None:
    signature = CUSTOMER_TYPES.get(content_type)
    if signature is None:
        raise invalid(field, f"{name}: files of type {content_type} are not accepted; send "
                             "photos, PDF, text, office documents or a ZIP archive")
    if not data.startswith(signature):
        raise invalid(field, f"{name} is not the {content_type} file it claims to be")


async def stored_uploads(form: FormData, blobs: BlobStore | None, field: str = "attachments",
                         customer: bool = False) -> tuple[dict[str, Any], ...]:
    """The files posted under `field`, stored; empty file inputs are ignored.
    `customer`: only the CUSTOMER_TYPES, and nothing stored unless all pass."""
    files = [f for f in form.getlist(field) if isinstance(f, UploadFile) and f.filename]
    if not files:
        return ()
    if blobs is None:
        raise invalid(field, "this server keeps no files")
    if len(files) > MAX_FILES:
        raise invalid(field, f"at most {MAX_FILES} files at once")
    checked: list[tuple[bytes, str, str]] = []
    for upload in files:
        name = clean_filename(upload.filename)
        data = bytearray()
        while chunk := await upload.read(CHUNK):
            data.extend(chunk)
            if len(data) > blobs.max_bytes:
                raise BlobTooLarge(f"{name} is larger than the limit of {blobs.max_bytes:,} "
                                   f"bytes", fields={field: "too large"})
        if not data:
            raise invalid(field, f"{name} is empty")
        content_type = declared_type(upload.content_type)
        if customer:
            check_customer_file(name, content_type, bytes(data), field)
        checked.append((bytes(data), name, content_type))
    return tuple([await run_in_threadpool(blobs.put, *file) for file in checked])
