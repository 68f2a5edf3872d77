"""The ASGI app: the read API's queries and the web channel's commands under
/api/v1, behind bearer-token authentication, with one error shape for every
failure: {"error": {"code", "message", "fields"}} — a refused command, an
unknown route (404), a wrong method (405, with Allow) and an unexpected
error (500, whose details go to the log, never to the caller) alike.  Every
answer carries the security headers below.

The probes (/healthz, /readyz, /openapi.json) answer at the root and under
/api/v1 without credentials, so a load balancer's stale header never makes a
healthy process look down.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.authentication import AuthenticationError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from channels.web.api import command_routes
from channels.web.auth import BearerTokenBackend
from channels.web.json_input import BodyTooLarge, UnsupportedMediaType
from channels.web.live import LiveFeed
from channels.web.pages import Web
from channels.web.site import web_mount
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore, BlobTooLarge
from domain.errors import (
    AlreadyExists,
    ConcurrentChange,
    CustomerWasErased,
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from ledgerdesk.routes import joined
from projections.access_log import AccessLog
from projections.chat_presence import ChatPresence
from projections.login_attempts import LoginAttempts
from projections.registry import ReadModels
from projections.runner import Wakeup
from read_api.app import public_routes, query_routes

API_PREFIX = "/api/v1"

# The first class that matches wins; anything else a command refuses is 422.
STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (ConcurrentChange, 409),
    (AlreadyExists, 409),
    (CustomerWasErased, 409),
    (BlobTooLarge, 413),
    (BodyTooLarge, 413),
    (UnsupportedMediaType, 415),
    (InvalidInput, 400),
    (InvalidTransition, 422),
]

# Error codes for what the router refuses before any endpoint runs.
CODE_BY_STATUS = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}

# Sent with every answer: no MIME sniffing of JSON into something a browser
# runs, no URL (with its references) leaked to another site, and nothing an
# answer holds (customer data, tokens' owners) kept in a shared cache.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # The pages run only their own script and style files: no inline script, no
    # other origin, no framing (clickjacking).  frame-ancestors does what
    # X-Frame-Options did, and unlike it lets the chat widget (which sets its own
    # policy) be framed by the sites that embed it.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(
    app: Ledgerdesk,
    models: ReadModels,
    readiness: Callable[[], tuple[bool, dict[str, Any]]] | None = None,
    lifespan: Any = None,
    access_log: AccessLog | None = None,
    secret_key: str | None = None,
    secure_cookies: bool = False,
    blobs: BlobStore | None = None,
    channel_routes: Sequence[BaseRoute] = (),
    send_mail: Callable[[str, str, str], Awaitable[None]] | None = None,
    public_url: str = "",
    reopen_days: int = 14,
    views_moved: Wakeup | None = None,
) -> Starlette:
    """`readiness` answers /readyz (ready?, detail); without it the projections'
    lag is reported and the process is always ready.  `access_log`: where staff
    reads of customers' data are recorded (the server always passes one; a test
    of other routes may leave it out).  `secret_key` signs the web pages'
    session cookies (a random one per app when not given: sessions then end
    with the process).  `channel_routes`: the channels' own endpoints (webhooks,
    gateway uploads), mounted as they come (ledgerdesk.server mounts each under
    /channels/<name>).  `send_mail(to, subject, body)` sends the portal's
    invitations and password resets (None: the console shows the link to hand
    over); `public_url` is the base of those links."""
    probes = public_routes(models, readiness)
    authenticated: list[BaseRoute] = joined([*query_routes(app, models, access_log),
                                             *command_routes(app, blobs, models)])
    bearer = Middleware(AuthenticationMiddleware, backend=BearerTokenBackend(app),
                        on_error=authentication_failed)
    web = Web(app, models, access_log,
              LoginAttempts(access_log.transactions, secret_key or "")
              if access_log is not None else None,
              secret_key or secrets.token_urlsafe(32), blobs,
              ChatPresence(access_log.transactions) if access_log is not None else None,
              send_mail=send_mail, public_url=public_url, reopen_days=reopen_days)
    feed = LiveFeed(lambda: live_positions(models), moved=views_moved)
    routes: list[BaseRoute] = [
        *probes,
        # Inside the prefix the probes match first; every other path goes through
        # authentication, then to its query or command (or 404).
        Mount(API_PREFIX, routes=[*probes, Mount("", routes=authenticated,
                                                 middleware=[bearer])]),
        *channel_routes,
        web_mount(web, feed, secure_cookies),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={DomainError: domain_error, HTTPException: http_error,
                            Exception: unexpected_error},
        lifespan=lifespan,
    )


# The views the live pages show: the inbox and the request page's timeline, its
# panels (field service, complaint, reminders), the customer card, the
# notifications (and the sidebar's badge) and the knowledge pages.
LIVE_VIEWS = ("inbox", "timeline", "field_jobs", "complaints", "reminders", "notifications",
              "customers", "knowledge", "knowledge_articles")


def live_positions(models: ReadModels) -> tuple[int, ...]:
    """What the live pages watch: the views they show (those this process has)."""
    return tuple(p.position() for p in models.projectors if p.name in LIVE_VIEWS)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP answer that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


# A lone surrogate (from a \ud800 escape in a body) cannot be encoded as UTF-8:
# an error message that echoes one must not turn a 400 into a 500.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _printable(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text)


def error_response(status: int, code: str, message: str,
                   fields: Mapping[str, str] | None = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": _printable(message),
                   "fields": {_printable(k): _printable(v) for k, v in (fields or {}).items()}}},
        status_code=status, headers=headers,
    )


def authentication_failed(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    """A token was sent and nobody recognises it (unknown, revoked, malformed)."""
    return error_response(401, Unauthenticated.code, str(exc) or "unknown or revoked token")


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = next((s for cls, s in STATUS_BY_ERROR if isinstance(exc, cls)), 422)
    return error_response(status, exc.code, exc.message, exc.fields)


async def http_error(request: Request, exc: Exception) -> Response:
    """What the router refuses: an unknown path (404) or method (405, keeping its
    Allow header)."""
    assert isinstance(exc, HTTPException)
    code = CODE_BY_STATUS.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, exc.detail, headers=exc.headers)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """A bug: the caller gets the error shape only; Starlette re-raises the
    exception after this answer, so the server logs its traceback.  This answer
    is sent from outside every middleware, so it adds the security headers itself."""
    return error_response(500, "internal", "something went wrong on our side; it is logged",
                          headers=SECURITY_HEADERS)
