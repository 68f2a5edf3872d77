"""`POST /channels/fax/upload`: a fax gateway hands over a received fax.

The body is the file itself (TIFF, PDF, PNG or JPEG), read as a stream and
refused with 413 as soon as it passes the upload limit, so a runaway sender
never fills memory.  The caller authenticates with a bearer token of a staff
user allowed to record interactions (`log_call`, as the CTI webhook); the
gateway's own metadata travel as query parameters or headers: `from` /
`X-Fax-From` (the sender's number) and `filename`.  201 with the reference;
422 with the reason for a file that cannot be read (it is still kept for an
agent when it has bytes).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from channels.fax_ocr.intake import FaxIntake, FaxUnreadable
from domain.access import Principal, require
from domain.application import Ledgerdesk
from domain.errors import DomainError


def gateway_routes(app: Ledgerdesk, intake: FaxIntake, max_bytes: int) -> list[BaseRoute]:
    async def upload(request: Request) -> JSONResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, "unauthenticated", "send Authorization: Bearer TOKEN")
        try:
            user = await run_in_threadpool(app.authenticate_token, token.strip())
            require(Principal(user.email, tuple(user.roles), user.customer_code), "log_call")
        except DomainError as error:
            status = 401 if error.code == "unauthenticated" else 403
            return _error(status, error.code, str(error))
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                return _error(413, "too_large", f"a fax is at most {max_bytes:,} bytes")
            chunks.append(chunk)
        sender = request.query_params.get("from") or request.headers.get("x-fax-from", "")
        filename = (request.query_params.get("filename") or "fax")[:200]
        try:
            outcome = await run_in_threadpool(intake.record, b"".join(chunks), filename,
                                              sender[:40])
        except FaxUnreadable as error:
            kept = error.recorded.reference if error.recorded else None
            return JSONResponse({"error": {"code": "unreadable", "message": error.reason,
                                           "fields": {}}, "kept_on": kept}, status_code=422)
        except DomainError as error:
            return _error(422, error.code, str(error))
        recorded = outcome.recorded
        return JSONResponse({"reference": recorded.reference, "duplicate": recorded.duplicate,
                             "pages": outcome.pages, "fields": outcome.fields},
                            status_code=200 if recorded.duplicate else 201)

    return [Route("/upload", upload, methods=["POST"])]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "fields": {}}},
                        status_code=status)
