"""One JSON error shape for every failure: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.blobstore import BlobTooLarge
from domain.errors import (
    AlreadyExists,
    ConcurrentChange,
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from read_api.auth import Unauthenticated

STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (ConcurrentChange, 409),
    (AlreadyExists, 409),
    (BlobTooLarge, 413),
    (InvalidInput, 400),
    (InvalidTransition, 422),
]


def error_response(status: int, code: str, message: str,
                   fields: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "fields": fields or {}}}, status_code=status
    )


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = next((s for cls, s in STATUS_BY_ERROR if isinstance(exc, cls)), 422)
    return error_response(status, exc.code, exc.message, exc.fields)
