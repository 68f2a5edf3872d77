"""The JSON queries under /api/v1, read from the read models; and the public
probes (/healthz, /readyz, /openapi.json).

Handlers are thin: check the caller's permission (named per route, decided in
domain.access), call one query, shape the answer.  Commands over HTTP are the
web channel's (channels.web.api); the composition root mounts both under the
same prefix and turns domain errors into the contract's error JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain import access
from domain.access import Principal
from domain.application import Ledgerdesk
from domain.errors import Unauthenticated
from projections import knowledge
from projections.audit import verify
from projections.registry import ReadModels
from read_api import queries
from read_api.openapi import OPENAPI

Readiness = Callable[[], tuple[bool, dict[str, Any]]]
QueryEndpoint = Callable[[Request, Principal], Awaitable[Any]]


def principal_of(conn: HTTPConnection) -> Principal:
    """The caller the authentication middleware found, or 401.  (The web channel
    has its own twin of this; the two layers may not import each other.)"""
    principal = getattr(conn.scope.get("user"), "principal", None)
    if isinstance(principal, Principal):
        return principal
    raise Unauthenticated("send Authorization: Bearer <token>")


def query_routes(app: Ledgerdesk, models: ReadModels) -> list[Route]:
    q = Queries(app, models)
    return [
        guarded("/inbox", "read_queues", q.inbox),
        guarded("/service-requests/{ref}", "read_own", q.service_request),
        guarded("/customers/{code}/360", "read_own", q.customer_360),
        guarded("/audit", "read_queues", q.audit),
        guarded("/audit/verify", "read_queues", q.audit_verify),
        guarded("/kb/search", "read_own", q.kb_search),
    ]


def guarded(path: str, permission: str, handler: QueryEndpoint) -> Route:
    """A GET route that runs `handler` only for a caller with `permission`."""
    if permission not in access.ALLOWED:
        raise ValueError(f"{path}: no permission named {permission!r} in domain.access")

    async def endpoint(request: Request) -> Response:
        who = principal_of(request)
        access.require(who, permission)
        return JSONResponse(await handler(request, who))

    return Route(path, endpoint, methods=["GET"])


class Queries:
    def __init__(self, app: Ledgerdesk, models: ReadModels) -> None:
        self.app = app
        self.models = models

    async def inbox(self, request: Request, who: Principal) -> Any:
        return await run_in_threadpool(queries.inbox, self.models, who,
                                       dict(request.query_params))

    async def service_request(self, request: Request, who: Principal) -> Any:
        return await run_in_threadpool(queries.service_request, self.models, who,
                                       request.path_params["ref"])

    async def customer_360(self, request: Request, who: Principal) -> Any:
        return await run_in_threadpool(queries.customer_360, self.models, who,
                                       request.path_params["code"])

    async def audit(self, request: Request, who: Principal) -> Any:
        return await run_in_threadpool(queries.audit, self.models, who,
                                       dict(request.query_params))

    async def audit_verify(self, request: Request, who: Principal) -> Any:
        result = await run_in_threadpool(verify, self.app.recorder, self.models["audit"])
        return {"intact": result.intact, "checked": result.checked,
                "first_broken": result.first_broken, "head_hash": result.head_hash}

    async def kb_search(self, request: Request, who: Principal) -> Any:
        limit = queries.parse_limit(request.query_params.get("limit"), default=10, maximum=50)
        results = await run_in_threadpool(
            knowledge.search, self.models["knowledge"], request.query_params.get("q", ""), limit,
            request.query_params.get("kind") or None,
        )
        return {"items": results}


def public_routes(models: ReadModels, readiness: Readiness | None = None) -> list[Route]:
    """Probes and the API's description: no credentials needed."""

    def lag_only() -> tuple[bool, dict[str, Any]]:
        return True, {"lag": {p.name: p.status().lag for p in models.projectors}}

    ready_check = readiness or lag_only

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ready, detail = await run_in_threadpool(ready_check)
        return JSONResponse({"ready": ready, **detail}, status_code=200 if ready else 503)

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
