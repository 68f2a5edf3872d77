"""The JSON API under /api/v1: reads from the read models, commands to the domain.

Handlers are thin: parse and validate the request, call one query or one
command, shape the answer.  Domain errors become the contract's error JSON in
read_api.errors.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from domain.application import Ledgerdesk
from domain.errors import DomainError, invalid
from projections import knowledge
from projections.audit import verify
from projections.registry import ReadModels
from read_api import queries
from read_api.auth import Principal, principal_from
from read_api.errors import domain_error_handler
from read_api.openapi import OPENAPI

Handler = Callable[[Request], Awaitable[Response]]
IDENTITY_FIELDS = {"emails": "email", "phones": "phone", "fax_numbers": "fax",
                   "telegram_ids": "telegram"}
MAX_BODY_BYTES = 1024 * 1024


class Api:
    def __init__(self, app: Ledgerdesk, models: ReadModels,
                 lag: Callable[[], dict[str, Any]] | None = None) -> None:
        self.app = app
        self.models = models
        self.lag = lag or self._lag

    def routes(self) -> list[Route]:
        r = self._route
        return [
            Route("/inbox", r(self.inbox)),
            Route("/service-requests", r(self.open_request), methods=["POST"]),
            Route("/service-requests/{ref}", r(self.get_request)),
            Route("/service-requests/{ref}/replies", r(self.reply), methods=["POST"]),
            Route("/service-requests/{ref}/notes", r(self.note), methods=["POST"]),
            Route("/service-requests/{ref}/assign", r(self.assign), methods=["POST"]),
            Route("/service-requests/{ref}/status", r(self.status), methods=["POST"]),
            Route("/customers", r(self.register_customer), methods=["POST"]),
            Route("/customers/{code}/360", r(self.customer_360)),
            Route("/customers/{code}/products", r(self.register_product), methods=["POST"]),
            Route("/products/{serial}", r(self.update_product), methods=["PATCH"]),
            Route("/products/{serial}/status", r(self.product_status), methods=["POST"]),
            Route("/products/{serial}/transfer", r(self.transfer_product), methods=["POST"]),
            Route("/calls", r(self.call), methods=["POST"]),
            Route("/audit", r(self.audit)),
            Route("/audit/verify", r(self.audit_verify)),
            Route("/kb/search", r(self.kb_search)),
        ]

    def _route(self, handler: Callable[[Request, Principal], Awaitable[Any]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            who = await run_in_threadpool(principal_from, request, self.app)
            result = await handler(request, who)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return endpoint

    # --- reads ---------------------------------------------------------------

    async def inbox(self, request: Request, who: Principal) -> Any:
        return await run_in_threadpool(queries.inbox, self.models, who,
                                       dict(request.query_params))

    async def get_request(self, request: Request, who: Principal) -> Any:
        return await run_in_threadpool(queries.service_request, self.models, who,
                                       request.path_params["ref"])

    async def customer_360(self, request: Request, who: Principal) -> Any:
        return await run_in_threadpool(queries.customer_360, self.models, who,
                                       request.path_params["code"])

    async def audit(self, request: Request, who: Principal) -> Any:
        return await run_in_threadpool(queries.audit, self.models, who,
                                       dict(request.query_params))

    async def audit_verify(self, request: Request, who: Principal) -> Any:
        who.require_staff_reader()
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

    # --- commands --------------------------------------------------------------

    async def register_customer(self, request: Request, who: Principal) -> Any:
        who.require_writer()
        who.require_staff()
        body = await _json(request)
        identities = [(kind, value) for field, kind in IDENTITY_FIELDS.items()
                      for value in _list(body, field)]
        customer_id = await run_in_threadpool(
            self.app.register_customer, _text(body, "code"), _text(body, "name"),
            actor=who.email, kind=_text(body, "kind", "company"),
            classification=_text(body, "classification", "standard"), identities=identities,
        )
        return JSONResponse({"id": str(customer_id), "code": body["code"].strip()},
                            status_code=201)

    async def register_product(self, request: Request, who: Principal) -> Any:
        who.require_writer()
        who.require_staff()
        body = await _json(request)
        configuration = body.get("configuration") or {}
        if not isinstance(configuration, dict):
            raise invalid("configuration", "configuration must be an object")
        serial = await run_in_threadpool(
            self.app.register_product, _text(body, "serial"), _text(body, "model"),
            request.path_params["code"], actor=who.email, name=_text(body, "name", ""),
            install_address=_text(body, "install_address", ""),
            installed_on=_text(body, "installed_on", "") or None,
            warranty_until=_text(body, "warranty_until", "") or None,
            configuration=configuration, maintainer=_text(body, "maintainer", "") or None,
        )
        return JSONResponse({"serial": serial}, status_code=201)

    async def update_product(self, request: Request, who: Principal) -> Any:
        who.require_writer()
        who.require_staff()
        body = await _json(request)
        await run_in_threadpool(self.app.update_product, request.path_params["serial"], body,
                                actor=who.email)
        return {}

    async def product_status(self, request: Request, who: Principal) -> Any:
        who.require_writer()
        who.require_staff()
        body = await _json(request)
        await run_in_threadpool(
            self.app.change_product_status, request.path_params["serial"],
            _text(body, "status"), actor=who.email, reason=_text(body, "reason", ""),
        )
        return {}

    async def transfer_product(self, request: Request, who: Principal) -> Any:
        who.require_writer()
        who.require_staff()
        body = await _json(request)
        await run_in_threadpool(self.app.transfer_product, request.path_params["serial"],
                                _text(body, "customer_code"), actor=who.email)
        return {}

    async def open_request(self, request: Request, who: Principal) -> Any:
        who.require_writer()
        body = await _json(request)
        customer_code = _text(body, "customer_code")
        who.require_customer_visible(customer_code, f"customer {customer_code}")
        reference = await run_in_threadpool(
            self.app.open_request, customer_code, _text(body, "type"), _text(body, "subject"),
            actor=who.email, description=_text(body, "description", ""),
            channel=_text(body, "channel", "web"),
            priority=_text(body, "priority", "normal"),
            product=body.get("product") if isinstance(body.get("product"), str) else None,
        )
        return JSONResponse({"reference": reference}, status_code=201)

    async def reply(self, request: Request, who: Principal) -> Any:
        who.require_writer()
        who.require_staff()
        body = await _json(request)
        reply_id = await run_in_threadpool(
            self.app.queue_reply, request.path_params["ref"], _text(body, "body"),
            actor=who.email, expected_version=_version(body),
        )
        return JSONResponse({"reply_id": reply_id}, status_code=202)

    async def note(self, request: Request, who: Principal) -> Any:
        who.require_writer()
        who.require_staff()
        body = await _json(request)
        await run_in_threadpool(self.app.add_note, request.path_params["ref"],
                                _text(body, "body"), actor=who.email)
        return JSONResponse({}, status_code=201)

    async def assign(self, request: Request, who: Principal) -> Any:
        who.require_writer()
        who.require_staff()
        body = await _json(request)
        await run_in_threadpool(
            self.app.assign, request.path_params["ref"], _text(body, "agent"), actor=who.email,
            reason=_text(body, "reason", ""), expected_version=_version(body),
        )
        return {}

    async def status(self, request: Request, who: Principal) -> Any:
        who.require_writer()
        who.require_staff()
        body = await _json(request)
        await run_in_threadpool(
            self.app.change_status, request.path_params["ref"], _text(body, "status"),
            actor=who.email, reason=_text(body, "reason", ""), expected_version=_version(body),
        )
        return {}

    async def call(self, request: Request, who: Principal) -> Any:
        who.require_writer()
        who.require_staff()
        body = await _json(request)
        started = _moment(body, "started_at")
        ended = _moment(body, "ended_at") if body.get("ended_at") else None
        recorded = await run_in_threadpool(
            self.app.log_call, _text(body, "call_id"), _text(body, "direction"),
            _text(body, "number"), started, actor=who.email,
            agent=body.get("agent") or who.email, ended_at=ended,
            notes=_text(body, "notes", ""), reference=body.get("reference") or None,
        )
        return JSONResponse({"reference": recorded.reference, "duplicate": recorded.duplicate},
                            status_code=201)

    def _lag(self) -> dict[str, Any]:
        return {p.name: p.status().lag for p in self.models.projectors}


def create_app(
    app: Ledgerdesk,
    models: ReadModels,
    readiness: Callable[[], tuple[bool, dict[str, Any]]] | None = None,
    lifespan: Any = None,
) -> Starlette:
    api = Api(app, models)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if readiness is not None:
            ready, detail = await run_in_threadpool(readiness)
        else:
            detail = {"lag": await run_in_threadpool(api.lag)}
            ready = True
        return JSONResponse({"ready": ready, **detail}, status_code=200 if ready else 503)

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/openapi.json", openapi),
        Mount("/api/v1", routes=[*api.routes(), Route("/openapi.json", openapi)]),
    ]
    return Starlette(routes=routes, exception_handlers={DomainError: domain_error_handler},
                     lifespan=lifespan)


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise invalid("body", f"the request body is over {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise invalid("body", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("body", "the request body must be a JSON object")
    return body


def _text(body: dict[str, Any], field: str, default: str | None = None) -> str:
    value = body.get(field, default)
    if value is None:
        raise invalid(field, f"{field} is required")
    if not isinstance(value, str):
        raise invalid(field, f"{field} must be a string")
    return value


def _list(body: dict[str, Any], field: str) -> list[str]:
    value = body.get(field) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(field, f"{field} must be a list of strings")
    return value


def _version(body: dict[str, Any]) -> int | None:
    value = body.get("expected_version")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise invalid("expected_version", "expected_version must be a whole number")
    return value


def _moment(body: dict[str, Any], field: str) -> datetime:
    text = _text(body, field)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(field, f"{field} must be an ISO-8601 date and time") from None
    if moment.tzinfo is None:
        raise invalid(field, f"{field} needs a time zone (e.g. 2026-11-23T09:00:00+08:00)")
    return moment


