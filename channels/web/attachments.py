"""Downloading a request's attachments from the blob store.

Only images whose bytes are what they claim to be (PNG, JPEG, GIF, WebP) are
shown in the page; everything else, whatever type the sender declared, is sent
as `application/octet-stream` with `Content-Disposition: attachment`, so that a
file never runs as a page of this site (with `X-Content-Type-Options: nosniff`
from the app's security headers).  Each download by staff is in the access log.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from channels.web.pages import page, web_of
from channels.web.sessions import SessionUser
from domain import ids
from domain.errors import NotFound
from projections import access_log, queries

# Declared type -> how its bytes begin.
IMAGE_MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
               "image/gif": (b"GIF87a", b"GIF89a"), "image/webp": (b"RIFF",)}


def shown_inline(content_type: str, data: bytes) -> bool:
    return any(data.startswith(magic) for magic in IMAGE_MAGIC.get(content_type, ()))


def number_attachments(timeline: list[dict[str, Any]]) -> None:
    """Number each attachment of a timeline as shown, for its download link
    (.../attachments/{number}); the same order queries.attachment counts in."""
    number = 0
    for entry in timeline:
        for attached in entry.get("attachments") or []:
            if isinstance(attached, dict):
                number += 1
                attached["number"] = number


def attachment_routes() -> list[BaseRoute]:
    return [page("/console/requests/{ref}/attachments/{number}", download, "work_queues"),
            page("/portal/requests/{ref}/attachments/{number}", download, "use_portal")]


async def download(request: Request, user: SessionUser) -> Response:
    web = web_of(request)
    reference, raw = request.path_params["ref"], request.path_params["number"]
    if not ids.REFERENCE_PATTERN.fullmatch(reference) or not (raw.isascii() and raw.isdigit()
                                                               and len(raw) < 6):
        raise NotFound(f"no attachment {raw} of {reference}")
    if web.blobs is None:
        raise NotFound("this server keeps no files")
    ref = await run_in_threadpool(queries.attachment, web.models, user.principal, reference,
                                  int(raw) - 1)
    data = await run_in_threadpool(web.blobs.get, ref)
    await web.accessed(user.principal, access_log.ATTACHMENT, reference, {"number": int(raw)})
    declared = str(ref.get("content_type") or "")
    name = str(ref.get("filename") or f"attachment-{raw}")
    if shown_inline(declared, data):
        return Response(data, media_type=declared,
                        headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}"})
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
