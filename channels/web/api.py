"""The JSON command endpoints of /api/v1, and the CTI webhook (POST /calls).

Each endpoint parses its body into one domain command and hands it to
`Ledgerdesk.handle`; the answer is the command's result in the contract's
shape.  Each route names the permission it needs (domain.access.ALLOWED) and
one wrapper checks it, so no endpoint decides access for itself.  Domain
errors become the contract's error JSON in the composition root.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.web.auth import principal_of
from channels.web.json_input import (
    expected_version,
    json_object,
    moment,
    optional_text,
    text,
    text_list,
)
from domain import access
from domain.access import Principal
from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.errors import invalid
from domain.installed_base.commands import (
    ChangeProductStatus,
    RegisterProduct,
    TransferProduct,
    UpdateProduct,
)
from domain.requests.commands import (
    AddNote,
    Assign,
    ChangeStatus,
    LogCall,
    OpenRequest,
    QueueReply,
    Recorded,
)

CommandEndpoint = Callable[[Request, Principal], Awaitable[Response]]

# Body field -> identity kind, for POST /customers.
IDENTITY_FIELDS = {"emails": "email", "phones": "phone", "fax_numbers": "fax",
                   "telegram_ids": "telegram"}


def command_routes(app: Ledgerdesk) -> list[Route]:
    c = Commands(app)
    return [
        guarded("/customers", "POST", "manage_customers", c.register_customer),
        guarded("/customers/{code}/products", "POST", "manage_products", c.register_product),
        guarded("/products/{serial}", "PATCH", "manage_products", c.update_product),
        guarded("/products/{serial}/status", "POST", "manage_products", c.product_status),
        guarded("/products/{serial}/transfer", "POST", "manage_products", c.transfer_product),
        guarded("/service-requests", "POST", "open_request", c.open_request),
        guarded("/service-requests/{ref}/replies", "POST", "reply", c.reply),
        guarded("/service-requests/{ref}/notes", "POST", "note", c.note),
        guarded("/service-requests/{ref}/assign", "POST", "assign", c.assign),
        guarded("/service-requests/{ref}/status", "POST", "change_status", c.status),
        guarded("/calls", "POST", "log_call", c.log_call),
    ]


def guarded(path: str, method: str, permission: str, handler: CommandEndpoint) -> Route:
    """A route that runs `handler` only for a caller with `permission`."""
    if permission not in access.ALLOWED:
        raise ValueError(f"{path}: no permission named {permission!r} in domain.access")

    async def endpoint(request: Request) -> Response:
        who = principal_of(request)
        access.require(who, permission)
        return await handler(request, who)

    return Route(path, endpoint, methods=[method])


def _answer(content: dict[str, Any], status_code: int = 200) -> Response:
    return JSONResponse(content, status_code=status_code)


class Commands:
    def __init__(self, app: Ledgerdesk) -> None:
        self.app = app

    async def _handle(self, command: object) -> Any:
        # A command reads and writes the event store: keep it off the event loop.
        return await run_in_threadpool(self.app.handle, command)

    # --- customers and their installed base --------------------------------------

    async def register_customer(self, request: Request, who: Principal) -> Response:
        body = await json_object(request)
        identities = [(kind, value) for field, kind in IDENTITY_FIELDS.items()
                      for value in text_list(body, field)]
        code = text(body, "code")
        customer_id = await self._handle(RegisterCustomer(
            code, text(body, "name"), actor=who.email, kind=text(body, "kind", "company"),
            classification=text(body, "classification", "standard"), identities=identities,
        ))
        return _answer({"id": str(customer_id), "code": code.strip()}, 201)

    async def register_product(self, request: Request, who: Principal) -> Response:
        body = await json_object(request)
        configuration = body.get("configuration") or {}
        if not isinstance(configuration, dict):
            raise invalid("configuration", "configuration must be an object")
        serial = await self._handle(RegisterProduct(
            text(body, "serial"), text(body, "model"), request.path_params["code"],
            actor=who.email, name=text(body, "name", ""),
            install_address=text(body, "install_address", ""),
            installed_on=optional_text(body, "installed_on"),
            warranty_until=optional_text(body, "warranty_until"),
            configuration=configuration, maintainer=optional_text(body, "maintainer"),
        ))
        return _answer({"serial": serial}, 201)

    async def update_product(self, request: Request, who: Principal) -> Response:
        body = await json_object(request)
        await self._handle(UpdateProduct(request.path_params["serial"], body, actor=who.email))
        return _answer({})

    async def product_status(self, request: Request, who: Principal) -> Response:
        body = await json_object(request)
        await self._handle(ChangeProductStatus(
            request.path_params["serial"], text(body, "status"), actor=who.email,
            reason=text(body, "reason", ""),
        ))
        return _answer({})

    async def transfer_product(self, request: Request, who: Principal) -> Response:
        body = await json_object(request)
        await self._handle(TransferProduct(
            request.path_params["serial"], text(body, "customer_code"), actor=who.email,
        ))
        return _answer({})

    # --- service requests ------------------------------------------------------------

    async def open_request(self, request: Request, who: Principal) -> Response:
        body = await json_object(request)
        customer_code = text(body, "customer_code")
        access.require_visible(who, customer_code, f"customer {customer_code}")
        product = body.get("product")
        reference = await self._handle(OpenRequest(
            customer_code, text(body, "type"), text(body, "subject"), actor=who.email,
            description=text(body, "description", ""), channel=text(body, "channel", "web"),
            priority=text(body, "priority", "normal"),
            product=product if isinstance(product, str) else None,
        ))
        return _answer({"reference": reference}, 201)

    async def reply(self, request: Request, who: Principal) -> Response:
        body = await json_object(request)
        reply_id = await self._handle(QueueReply(
            request.path_params["ref"], text(body, "body"), actor=who.email,
            expected_version=expected_version(body), channel=optional_text(body, "channel"),
        ))
        return _answer({"reply_id": reply_id}, 202)

    async def note(self, request: Request, who: Principal) -> Response:
        body = await json_object(request)
        await self._handle(AddNote(request.path_params["ref"], text(body, "body"),
                                   actor=who.email))
        return _answer({}, 201)

    async def assign(self, request: Request, who: Principal) -> Response:
        body = await json_object(request)
        await self._handle(Assign(
            request.path_params["ref"], text(body, "agent"), actor=who.email,
            reason=text(body, "reason", ""), expected_version=expected_version(body),
        ))
        return _answer({})

    async def status(self, request: Request, who: Principal) -> Response:
        body = await json_object(request)
        await self._handle(ChangeStatus(
            request.path_params["ref"], text(body, "status"), actor=who.email,
            reason=text(body, "reason", ""), expected_version=expected_version(body),
        ))
        return _answer({})

    # --- the CTI webhook, and calls an agent logs by hand ---------------------------

    async def log_call(self, request: Request, who: Principal) -> Response:
        body = await json_object(request)
        started_at = moment(body, "started_at")
        ended_at = moment(body, "ended_at") if body.get("ended_at") else None
        recorded: Recorded = await self._handle(LogCall(
            text(body, "call_id"), text(body, "direction"), text(body, "number"),
            started_at, actor=who.email,
            agent=optional_text(body, "agent") or who.email, ended_at=ended_at,
            notes=text(body, "notes", ""), reference=optional_text(body, "reference"),
        ))
        return _answer({"reference": recorded.reference, "duplicate": recorded.duplicate}, 201)
