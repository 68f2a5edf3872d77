"""The JSON queries under /api/v1, read from the read models; and the public
probes (/healthz, /readyz, /openapi.json).

Handlers are thin: check the caller's permission (named per route, decided in
domain.access), check the shape of every path and query parameter, call one
query, shape the answer.  A parameter no answer could match (a reference not
shaped like one, a code with a control character) is a 404 before any query
runs, a malformed one a 400 naming it: the stores must never see text they
cannot hold (PostgreSQL refuses NUL) or numbers past their range.  Commands
over HTTP are the web channel's (channels.web.api); the composition root mounts
both under the same prefix and turns domain errors into the contract's error
JSON.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from domain import access, ids
from domain.access import Principal
from domain.aggregates.knowledge import KINDS
from domain.application import Ledgerdesk
from domain.errors import NotFound, Unauthenticated, invalid
from domain.text import unsafe_character
from projections import access_log, knowledge, queries, report_queries
from projections.access_log import AccessLog
from projections.audit import verify
from projections.customers import granted_modules
from projections.registry import ReadModels
from projections.runner import Projector
from read_api.complaints import complaint_query_routes
from read_api.field_reads import field_query_routes
from read_api.knowledge_queries import knowledge_query_routes
from read_api.openapi import (
    AUDIT_ACTOR_MAX_LENGTH,
    AUDIT_MAX_LIMIT,
    CURSOR_MAX_LENGTH,
    INBOX_MAX_LIMIT,
    KB_MAX_LIMIT,
    KB_QUERY_MAX_LENGTH,
    OPENAPI,
)
from read_api.returns_queries import returns_query_routes

log = logging.getLogger(__name__)

Readiness = Callable[[], tuple[bool, dict[str, Any]]]
QueryEndpoint = Callable[[Request, Principal], Awaitable[Any]]

# What /inbox gives out as a cursor: URL-safe base64 without padding.
INBOX_CURSOR = re.compile(r"[A-Za-z0-9_-]+")
# The access log's `surface` for reads over this API (the console and portal
# will record their own).
SURFACE = "api"
# /audit's cursor is a position; the stores keep positions in 63 bits.
AUDIT_CURSOR_MAX_DIGITS = 18


def principal_of(conn: HTTPConnection) -> Principal:
    """The caller the authentication middleware found, or 401.  (The web channel
    has its own twin of this; the two layers may not import each other.)"""
    principal = getattr(conn.scope.get("user"), "principal", None)
    if isinstance(principal, Principal):
        return principal
    raise Unauthenticated("send Authorization: Bearer <token>")


def query_routes(
    app: Ledgerdesk, models: ReadModels, access_log: AccessLog | None = None
) -> list[Route]:
    q = Queries(app, models, access_log)
    return [
        guarded("/inbox", "read_queues", q.inbox),
        guarded("/service-requests/{ref}", "read_own", q.service_request),
        guarded("/customers/{code}/360", "read_own", q.customer_360),
        guarded("/audit", "read_queues", q.audit),
        guarded("/audit/verify", "read_queues", q.audit_verify),
        guarded("/audit/access", "read_access_log", q.access_entries),
        guarded("/audit/access/verify", "read_access_log", q.access_verify),
        guarded("/kb/search", "read_own", q.kb_search),
        guarded("/reports/summary", "read_queues", q.reports_summary),
        *knowledge_query_routes(models),
        *complaint_query_routes(models, access_log),
        *returns_query_routes(app, models),
        *field_query_routes(models, guarded),
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
    def __init__(
        self, app: Ledgerdesk, models: ReadModels, access_log: AccessLog | None = None
    ) -> None:
        self.app = app
        self.models = models
        self.access_log = access_log

    async def _accessed(self, who: Principal, kind: str, subject: str,
                        detail: dict[str, Any] | None = None) -> None:
        """Record a read of customers' data by staff or an auditor (a customer
        reading their own organisation's data is not logged)."""
        if self.access_log is not None and not who.is_customer_side:
            await run_in_threadpool(self.access_log.record, who.email, SURFACE, kind, subject,
                                    detail)

    async def inbox(self, request: Request, who: Principal) -> Any:
        params = dict(request.query_params)
        checked_limit(params.get("limit"), INBOX_MAX_LIMIT)
        check_inbox_cursor(params.get("cursor"))
        return await run_in_threadpool(queries.inbox, self.models, who, params)

    async def _module(self, who: Principal, module: str) -> None:
        """A partner reads here only what a granted portal module shows (the
        same grant the portal's pages check, from the customers view)."""
        if who.is_partner:
            granted = await run_in_threadpool(granted_modules, self.models["customers"],
                                              who.customer_code or "")
            access.require_module(who, granted, module)

    async def service_request(self, request: Request, who: Principal) -> Any:
        await self._module(who, "requests")
        reference = request.path_params["ref"]
        if not ids.REFERENCE_PATTERN.fullmatch(reference):
            raise NotFound(f"no service request {reference!r}")
        found = await run_in_threadpool(queries.service_request, self.models, who, reference)
        await self._accessed(who, access_log.SERVICE_REQUEST, reference)
        return found

    async def customer_360(self, request: Request, who: Principal) -> Any:
        await self._module(who, "requests")
        code = request.path_params["code"]
        if not is_possible_code(code):
            raise NotFound(f"no customer {code!r}")
        found = await run_in_threadpool(queries.customer_360, self.models, who, code)
        await self._accessed(who, access_log.CUSTOMER_360, code.strip())
        return found

    async def audit(self, request: Request, who: Principal) -> Any:
        params = dict(request.query_params)
        for name in ("customer", "request", "actor", "since", "until"):
            check_storable(name, params.get(name))
        if len(params.get("actor") or "") > AUDIT_ACTOR_MAX_LENGTH:
            raise invalid("actor", f"actor is at most {AUDIT_ACTOR_MAX_LENGTH} characters")
        customer = params.get("customer")
        if customer and not is_possible_code(customer):
            # Also past the first page, where the query no longer asks whether
            # anything was recorded for it.
            raise NotFound(f"nothing recorded for customer {customer!r}")
        checked_limit(params.get("limit"), AUDIT_MAX_LIMIT)
        cursor = params.get("cursor") or ""
        if cursor and not (is_ascii_number(cursor) and len(cursor) <= AUDIT_CURSOR_MAX_DIGITS):
            raise invalid("cursor", "cursor is not one this API gave out")
        page = await run_in_threadpool(queries.audit, self.models, who, params)
        filters = {k: v for k, v in params.items()
                   if k in ("customer", "request", "actor", "since", "until", "cursor") and v}
        await self._accessed(who, access_log.AUDIT_EXPORT,
                             params.get("customer") or params.get("request") or "", filters)
        return page

    async def audit_verify(self, request: Request, who: Principal) -> Any:
        result = await run_in_threadpool(verify, self.app.recorder, self.models["audit"])
        return {"intact": result.intact, "checked": result.checked,
                "first_broken": result.first_broken, "head_hash": result.head_hash}

    async def access_entries(self, request: Request, who: Principal) -> Any:
        """The access log, by page, filtered like /audit (customer or request is
        the subject read)."""
        if self.access_log is None:
            raise NotFound("this server keeps no access log")
        params = dict(request.query_params)
        for name in ("customer", "request", "actor", "since", "until"):
            check_storable(name, params.get(name))
        limit = checked_limit(params.get("limit"), AUDIT_MAX_LIMIT) or 1000
        cursor = params.get("cursor") or "0"
        if not (is_ascii_number(cursor) and len(cursor) <= AUDIT_CURSOR_MAX_DIGITS):
            raise invalid("cursor", "cursor is not one this API gave out")
        wanted = queries.access_filter(params)
        rows = await run_in_threadpool(self.access_log.entries, wanted, int(cursor), limit + 1)
        filters = {k: v for k, v in params.items() if k != "limit" and v}
        await self._accessed(who, access_log.ACCESS_EXPORT, wanted.subject or "", filters)
        next_cursor = str(rows[limit - 1]["seq"]) if len(rows) > limit else None
        return {"entries": rows[:limit], "next_cursor": next_cursor}

    async def access_verify(self, request: Request, who: Principal) -> Any:
        if self.access_log is None:
            raise NotFound("this server keeps no access log")
        result = await run_in_threadpool(self.access_log.verify)
        return {"intact": result.intact, "checked": result.checked,
                "first_broken": result.first_broken}

    async def kb_search(self, request: Request, who: Principal) -> Any:
        await self._module(who, "knowledge")
        limit = checked_limit(request.query_params.get("limit"), KB_MAX_LIMIT) or 10
        query = request.query_params.get("q", "")
        check_storable("q", query)
        if len(query) > KB_QUERY_MAX_LENGTH:
            raise invalid("q", f"q is longer than {KB_QUERY_MAX_LENGTH} characters")
        kind = request.query_params.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise invalid("kind", f"kind must be one of {', '.join(KINDS)}")
        results = await run_in_threadpool(
            knowledge.search, self.models["knowledge"], query, limit, kind,
        )
        return {"items": results}

    async def reports_summary(self, request: Request, who: Principal) -> Any:
        """Staff and auditors; times in business hours (projections.report_queries)."""
        now = self.app.clock.now()
        start, end, team = report_queries.period(dict(request.query_params), now)
        return await run_in_threadpool(report_queries.summary, self.models["reports"],
                                       start, end, now, team)


def is_ascii_number(text: str) -> bool:
    """Digits 0-9 only: str.isdigit() is also true for "²" and "٣", which int()
    then refuses or the stores cannot compare."""
    return text.isascii() and text.isdigit()


def checked_limit(raw: str | None, maximum: int) -> int | None:
    """`limit`, a whole number from 1 to `maximum` written plainly (no sign, no
    leading zero); None when not given."""
    if raw is None or raw == "":
        return None
    if not (is_ascii_number(raw) and len(raw) <= len(str(maximum)) and raw[0] != "0"
            and int(raw) <= maximum):
        raise invalid("limit", f"limit must be a whole number from 1 to {maximum}")
    return int(raw)


def check_inbox_cursor(cursor: str | None) -> None:
    """A cursor /inbox gave out, or 400: bounded before it is decoded (it is
    JSON inside, and JSON nested a thousand deep stops the parser), and what it
    holds is checked before it reaches a query."""
    if not cursor:
        return
    if len(cursor) > CURSOR_MAX_LENGTH or not INBOX_CURSOR.fullmatch(cursor):
        raise invalid("cursor", "cursor is not one this API gave out")
    at, reference = queries.decode_cursor(cursor)
    if unsafe_character(at) is not None or not ids.REFERENCE_PATTERN.fullmatch(reference):
        raise invalid("cursor", "cursor is not one this API gave out")


def is_possible_code(code: str) -> bool:
    """Whether a customer could have this code: 1 to 64 characters, no blanks
    inside, once surrounding blanks are stripped (the domain's rule for codes)."""
    stripped = code.strip()
    return (0 < len(stripped) <= 64 and not any(c.isspace() for c in stripped)
            and unsafe_character(code) is None)


def check_storable(name: str, value: str | None) -> None:
    """Refuse a query parameter the stores cannot hold (NUL, control characters)."""
    if value and unsafe_character(value) is not None:
        raise invalid(name, f"{name} contains a control character")


def projection_report(projectors: Sequence[Projector]) -> dict[str, Any]:
    """What /readyz shows anyone: per view, its position, its lag behind the
    log's head and how many events it skipped as unreadable.  Counts only: the
    errors themselves are in the log and `ledgerdesk projections status`."""
    statuses = [p.status() for p in projectors]
    return {
        "lag": {s.name: s.lag for s in statuses},
        "positions": {s.name: s.position for s in statuses},
        "head": max((s.head for s in statuses), default=0),
        "failures": {s.name: s.failures for s in statuses},
    }


def public_routes(models: ReadModels, readiness: Readiness | None = None) -> list[Route]:
    """Probes and the API's description: no credentials needed."""

    def projections_only() -> tuple[bool, dict[str, Any]]:
        return True, projection_report(models.projectors)

    ready_check = readiness or projections_only

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            ready, detail = await run_in_threadpool(ready_check)
        except Exception:  # a probe says "not ready"; why is for the log, not for anyone
            log.exception("readiness check failed")
            ready, detail = False, {"reason": "the event store or a read model cannot be read"}
        return JSONResponse({"ready": ready, **detail}, status_code=200 if ready else 503)

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    return [ProbeRoute("/healthz", healthz), ProbeRoute("/readyz", readyz),
            ProbeRoute("/openapi.json", openapi)]


class ProbeRoute(Route):
    """A GET route that claims its path for every method, then answers 405 (with
    Allow) to the others itself.  Under /api/v1 the probes sit beside the
    authenticated routes' catch-all mount, which Starlette prefers to a route
    that matches the path but not the method: that would turn a 405 into a 404."""

    def __init__(self, path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        super().__init__(path, endpoint, methods=["GET"])

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        return (Match.FULL if match == Match.PARTIAL else match), child_scope
