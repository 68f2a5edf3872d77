"""The ASGI app: the read API's queries and the web channel's commands under
/api/v1, behind bearer-token authentication, with one error shape for every
failure: {"error": {"code", "message", "fields"}}.

The probes (/healthz, /readyz, /openapi.json) answer at the root and under
/api/v1 without credentials, so a load balancer's stale header never makes a
healthy process look down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.authentication import AuthenticationError
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount

from channels.web.api import command_routes
from channels.web.auth import BearerTokenBackend
from domain.application import Ledgerdesk
from domain.blobstore import BlobTooLarge
from domain.errors import (
    AlreadyExists,
    ConcurrentChange,
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from projections.registry import ReadModels
from read_api.app import public_routes, query_routes

API_PREFIX = "/api/v1"

# The first class that matches wins; anything else a command refuses is 422.
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


def create_app(
    app: Ledgerdesk,
    models: ReadModels,
    readiness: Callable[[], tuple[bool, dict[str, Any]]] | None = None,
    lifespan: Any = None,
) -> Starlette:
    """`readiness` answers /readyz (ready?, detail); without it the projections'
    lag is reported and the process is always ready."""
    probes = public_routes(models, readiness)
    authenticated: list[BaseRoute] = [*query_routes(app, models), *command_routes(app)]
    bearer = Middleware(AuthenticationMiddleware, backend=BearerTokenBackend(app),
                        on_error=authentication_failed)
    routes: list[BaseRoute] = [
        *probes,
        # Inside the prefix the probes match first; every other path goes through
        # authentication, then to its query or command (or 404).
        Mount(API_PREFIX, routes=[*probes, Mount("", routes=authenticated,
                                                 middleware=[bearer])]),
    ]
    return Starlette(routes=routes, exception_handlers={DomainError: domain_error},
                     lifespan=lifespan)


def error_response(status: int, code: str, message: str,
                   fields: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "fields": fields or {}}},
        status_code=status,
    )


def authentication_failed(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    """A token was sent and nobody recognises it (unknown, revoked, malformed)."""
    return error_response(401, Unauthenticated.code, str(exc) or "unknown or revoked token")


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = next((s for cls, s in STATUS_BY_ERROR if isinstance(exc, cls)), 422)
    return error_response(status, exc.code, exc.message, exc.fields)
