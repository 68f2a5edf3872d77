"""The customer's drawn signature on a service report: a PNG from the console's
canvas (a data URL in a form field) or from the API (base64), checked and kept
in the blob store like an attachment.

Checked with Pillow rather than trusted: it must be a PNG by its bytes, decode
whole, and stay within a size a signature needs, so the field cannot carry
arbitrary files or a decompression bomb into the store."""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from PIL import Image, UnidentifiedImageError

from domain.blobstore import BlobStore
from domain.errors import InvalidTransition

MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SIDE = 4000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"
FIELD = "signature"


class BadSignature(InvalidTransition):
    """The signature cannot be used as an image (422, like content that cannot
    be processed: the request itself was well formed)."""

    code = "bad_signature"


def invalid(field: str, message: str) -> BadSignature:
    return BadSignature(message, fields={field: message})


def decoded(text: str) -> bytes | None:
    """The PNG bytes of a data URL or plain base64; None when nothing was drawn."""
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith("data:"):
        if not text.startswith(DATA_URL_PREFIX):
            raise invalid(FIELD, "the signature must be a PNG image")
        text = text[len(DATA_URL_PREFIX):]
    if len(text) > MAX_SIGNATURE_BYTES * 4 // 3 + 8:
        raise invalid(FIELD, f"the signature image is over {MAX_SIGNATURE_BYTES // 1024} KB")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(FIELD, "the signature is not base64-encoded PNG data") from None


def checked_png(data: bytes) -> bytes:
    if len(data) > MAX_SIGNATURE_BYTES:
        raise invalid(FIELD, f"the signature image is over {MAX_SIGNATURE_BYTES // 1024} KB")
    if not data.startswith(PNG_MAGIC):
        raise invalid(FIELD, "the signature must be a PNG image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise invalid(FIELD, "the signature must be a PNG image")
            width, height = image.size
            if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
                raise invalid(FIELD, f"the signature image is at most {MAX_SIDE} pixels a side")
            image.load()
    except BadSignature:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise invalid(FIELD, "the signature image is damaged") from None
    return data


def store_signature(blobs: BlobStore | None, text: str) -> dict[str, Any] | None:
    """The blob reference of the signature in `text`, or None when there is none."""
    data = decoded(text)
    if data is None:
        return None
    if blobs is None:
        raise invalid(FIELD, "this server keeps no files: send the report without a signature")
    return blobs.put(checked_png(data), "signature.png", "image/png")
