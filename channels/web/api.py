"""The JSON command endpoints of /api/v1, and the CTI webhook (POST /calls).

Each endpoint parses its body into one domain command and hands it to
`Ledgerdesk.handle`; the answer is the command's result in the contract's
shape.  Each route names the permission it needs (domain.access.ALLOWED)
and, for a command, the body fields it accepts; one wrapper checks both (an
unknown field is a 400 naming it, not silently dropped), so no endpoint decides
access or reads a body for itself.  Domain errors become the contract's error
JSON in the composition root.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.web.api_complaints import complaint_routes
from channels.web.api_customers import customer_routes
from channels.web.api_field import field_routes
from channels.web.api_knowledge import knowledge_routes
from channels.web.api_phone import phone_routes
from channels.web.api_request_actions import request_action_routes
from channels.web.api_returns import returns_routes
from channels.web.auth import principal_of
from channels.web.json_input import (
    expected_version,
    json_object,
    moment,
    nonempty_text,
    number_list,
    optional_choice,
    optional_date,
    optional_moment,
    optional_text,
    phone_number,
    plain_object,
    text,
    text_list,
)
from channels.web.users_api import user_routes
from domain import access
from domain.access import Principal
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.customers.commands import EraseCustomer, RegisterCustomer
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
    HandOver,
    LogCall,
    OpenRequest,
    QueueReply,
    Recorded,
    Transfer,
    Urge,
)
from domain.teams.commands import AddTeamMember, CreateTeam, RemoveTeamMember
from projections.registry import ReadModels

Endpoint = Callable[[Request, Principal], Awaitable[Response]]
Body = dict[str, Any]
CommandEndpoint = Callable[[Request, Principal, Body], Awaitable[Response]]

# Body field -> identity kind, for POST /customers.
IDENTITY_FIELDS = {"emails": "email", "phones": "phone", "fax_numbers": "fax",
                   "telegram_ids": "telegram"}
NUMBER_FIELDS = ("phones", "fax_numbers")


def command_routes(app: Ledgerdesk, blobs: BlobStore | None = None,
                   models: ReadModels | None = None) -> list[Route]:
    c = Commands(app)
    return [
        CommandRoute("/customers", "POST", "manage_customers", c.register_customer,
                     ("code", "name", "kind", "classification", *IDENTITY_FIELDS)),
        CommandRoute("/customers/{code}/erase", "POST", "erase_customers", c.erase_customer,
                     ("reason",)),
        CommandRoute("/customers/{code}/products", "POST", "manage_products",
                     c.register_product, ("serial", *DETAIL_READERS)),
        CommandRoute("/products/{serial}", "PATCH", "manage_products", c.update_product,
                     tuple(DETAIL_READERS)),
        CommandRoute("/products/{serial}/status", "POST", "manage_products", c.product_status,
                     ("status", "reason")),
        CommandRoute("/products/{serial}/transfer", "POST", "manage_products",
                     c.transfer_product, ("customer_code",)),
        CommandRoute("/service-requests", "POST", "open_request", c.open_request,
                     ("customer_code", "type", "subject", "description", "channel", "priority",
                      "product")),
        CommandRoute("/service-requests/{ref}/replies", "POST", "reply", c.reply,
                     ("body", "channel", "expected_version")),
        CommandRoute("/service-requests/{ref}/notes", "POST", "note", c.note,
                     ("body", "expected_version")),
        CommandRoute("/service-requests/{ref}/assign", "POST", "assign", c.assign,
                     ("agent", "reason", "expected_version")),
        CommandRoute("/service-requests/{ref}/transfer", "POST", "assign", c.transfer,
                     ("to", "reason", "expected_version")),
        CommandRoute("/service-requests/{ref}/urge", "POST", "urge", c.urge,
                     ("message", "expected_version")),
        CommandRoute("/users/{email}/hand-over", "POST", "hand_over", c.hand_over,
                     ("to", "reason")),
        CommandRoute("/service-requests/{ref}/status", "POST", "change_status", c.status,
                     ("status", "reason", "expected_version")),
        CommandRoute("/calls", "POST", "log_call", c.log_call,
                     ("call_id", "direction", "number", "agent", "started_at", "ended_at",
                      "notes", "reference", "customer_code")),
        CommandRoute("/teams", "POST", "manage_teams", c.create_team, ("code", "name")),
        CommandRoute("/teams/{code}/members", "POST", "manage_teams", c.add_member,
                     ("email",)),
        CommandRoute("/teams/{code}/members/remove", "POST", "manage_teams", c.remove_member,
                     ("email",)),
        *user_routes(app),
        *knowledge_routes(app),
        *complaint_routes(app),
        *customer_routes(app),
        *returns_routes(app),
        *field_routes(app, blobs),
        *phone_routes(app),
        *request_action_routes(app, models),
    ]


class CommandRoute(Route):
    """A JSON command: runs `handler` only for a caller with `permission`, with a
    body (application/json, within the size limit) whose fields are all among
    `fields`.  The OpenAPI document lists the same fields; a test holds the two
    together."""

    def __init__(self, path: str, method: str, permission: str, handler: CommandEndpoint,
                 fields: Collection[str]) -> None:
        _require_permission_exists(path, permission)
        self.fields = frozenset(fields)

        async def endpoint(request: Request) -> Response:
            who = principal_of(request)
            access.require(who, permission)
            body = await json_object(request, self.fields)
            return await handler(request, who, body)

        super().__init__(path, endpoint, methods=[method])


def guarded(path: str, method: str, permission: str, handler: Endpoint) -> Route:
    """A route that runs `handler` only for a caller with `permission`; it reads
    its own body, if any (see CommandRoute for JSON commands)."""
    _require_permission_exists(path, permission)

    async def endpoint(request: Request) -> Response:
        who = principal_of(request)
        access.require(who, permission)
        return await handler(request, who)

    return Route(path, endpoint, methods=[method])


def _require_permission_exists(path: str, permission: str) -> None:
    if permission not in access.ALLOWED:
        raise ValueError(f"{path}: no permission named {permission!r} in domain.access")


def _answer(content: dict[str, Any], status_code: int = 200) -> Response:
    return JSONResponse(content, status_code=status_code)


class Commands:
    def __init__(self, app: Ledgerdesk) -> None:
        self.app = app

    async def _handle(self, command: object) -> Any:
        # A command reads and writes the event store: keep it off the event loop.
        return await run_in_threadpool(self.app.handle, command)

    # --- customers and their installed base --------------------------------------

    async def register_customer(self, request: Request, who: Principal, body: Body) -> Response:
        code = text(body, "code")
        customer_id = await self._handle(RegisterCustomer(
            code, text(body, "name"), actor=actor_of(who), kind=text(body, "kind", "company"),
            classification=text(body, "classification", "standard"),
            identities=identities(body),
        ))
        return _answer({"id": str(customer_id), "code": code.strip()}, 201)

    async def erase_customer(self, request: Request, who: Principal, body: Body) -> Response:
        erasure = await self._handle(EraseCustomer(
            request.path_params["code"], text(body, "reason"), actor=actor_of(who)))
        return _answer({"code": erasure.code, "codes": erasure.codes,
                        "identities_released": erasure.identities_released,
                        "users_deactivated": erasure.users_deactivated})

    async def register_product(self, request: Request, who: Principal, body: Body) -> Response:
        details = product_details(body)
        serial = await self._handle(RegisterProduct(
            text(body, "serial"), text(body, "model"), request.path_params["code"],
            actor=actor_of(who), name=details.get("name", ""),
            install_address=details.get("install_address", ""),
            installed_on=details.get("installed_on"),
            warranty_until=details.get("warranty_until"),
            configuration=details.get("configuration"), maintainer=details.get("maintainer"),
        ))
        return _answer({"serial": serial}, 201)

    async def update_product(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(UpdateProduct(request.path_params["serial"], product_details(body),
                                         actor=actor_of(who)))
        return _answer({})

    async def product_status(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(ChangeProductStatus(
            request.path_params["serial"], text(body, "status"), actor=actor_of(who),
            reason=text(body, "reason", ""),
        ))
        return _answer({})

    async def transfer_product(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(TransferProduct(
            request.path_params["serial"], text(body, "customer_code"), actor=actor_of(who),
        ))
        return _answer({})

    # --- service requests ------------------------------------------------------------

    async def _module(self, who: Principal, module: str) -> None:
        """A partner acts here only in a portal module granted to their
        organisation (read from the customer itself, as commands read)."""
        if who.is_partner and who.customer_code:
            customer = await run_in_threadpool(self.app.customer, who.customer_code)
            access.require_module(who, customer.portal_modules, module)

    async def open_request(self, request: Request, who: Principal, body: Body) -> Response:
        customer_code = text(body, "customer_code")
        access.require_visible(who, customer_code, f"customer {customer_code}")
        await self._module(who, "requests")
        reference = await self._handle(OpenRequest(
            customer_code, text(body, "type"), text(body, "subject"), actor=actor_of(who),
            description=text(body, "description", ""), channel=text(body, "channel", "web"),
            priority=text(body, "priority", "normal"), product=optional_text(body, "product"),
        ))
        return _answer({"reference": reference}, 201)

    async def reply(self, request: Request, who: Principal, body: Body) -> Response:
        reply_id = await self._handle(QueueReply(
            request.path_params["ref"], text(body, "body"), actor=actor_of(who),
            expected_version=expected_version(body), channel=optional_choice(body, "channel"),
        ))
        return _answer({"reply_id": reply_id}, 202)

    async def note(self, request: Request, who: Principal, body: Body) -> Response:
        reference = request.path_params["ref"]
        await self._handle(AddNote(reference, text(body, "body"), actor=actor_of(who),
                                   expected_version=expected_version(body)))
        return _answer({}, 201)

    async def assign(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(Assign(
            request.path_params["ref"], text(body, "agent"), actor=actor_of(who),
            reason=text(body, "reason", ""), expected_version=expected_version(body),
        ))
        return _answer({})

    async def transfer(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(Transfer(
            request.path_params["ref"], text(body, "to"), text(body, "reason"),
            actor=actor_of(who), expected_version=expected_version(body),
        ))
        return _answer({})

    async def urge(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(Urge(
            request.path_params["ref"], text(body, "message"), actor=actor_of(who),
            expected_version=expected_version(body),
        ))
        return _answer({})

    async def hand_over(self, request: Request, who: Principal, body: Body) -> Response:
        moved: int = await self._handle(HandOver(
            request.path_params["email"], text(body, "to"), text(body, "reason"),
            actor=actor_of(who),
        ))
        return _answer({"transferred": moved})

    # --- teams (admins) ---------------------------------------------------------------

    async def create_team(self, request: Request, who: Principal, body: Body) -> Response:
        code: str = await self._handle(CreateTeam(text(body, "code"), text(body, "name"),
                                                  actor=actor_of(who)))
        return _answer({"code": code}, 201)

    async def add_member(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(AddTeamMember(request.path_params["code"], text(body, "email"),
                                         actor=actor_of(who)))
        return _answer({})

    async def remove_member(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(RemoveTeamMember(request.path_params["code"], text(body, "email"),
                                            actor=actor_of(who)))
        return _answer({})

    async def status(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(ChangeStatus(
            request.path_params["ref"], text(body, "status"), actor=actor_of(who),
            reason=text(body, "reason", ""), expected_version=expected_version(body),
        ))
        return _answer({})

    # --- the CTI webhook, and calls an agent logs by hand ---------------------------

    async def log_call(self, request: Request, who: Principal, body: Body) -> Response:
        recorded: Recorded = await self._handle(LogCall(
            nonempty_text(body, "call_id"), text(body, "direction"),
            phone_number("number", text(body, "number")), moment(body, "started_at"),
            actor=actor_of(who), agent=optional_text(body, "agent") or who.email,
            ended_at=optional_moment(body, "ended_at"), notes=text(body, "notes", ""),
            reference=optional_choice(body, "reference"),
            customer_code=optional_choice(body, "customer_code"),
        ))
        return _answer({"reference": recorded.reference, "duplicate": recorded.duplicate}, 201)


def actor_of(who: Principal) -> str:
    """Who the events say did it.  A customer acting on the portal is a channel
    actor (`web:<email>`), which the event store seals with their key
    (domain.personal); staff are their email, readable in the audit trail."""
    return f"web:{who.email}" if who.is_customer_side else who.email


def identities(body: Body) -> list[tuple[str, str]]:
    """(kind, value) for every address and number given for a new customer."""
    found: list[tuple[str, str]] = []
    for field, kind in IDENTITY_FIELDS.items():
        values = number_list(body, field) if field in NUMBER_FIELDS else text_list(body, field)
        found.extend((kind, value) for value in values)
    return found


# How each installed-product detail is read; these are the body's fields.
DETAIL_READERS: dict[str, Callable[[Body, str], Any]] = {
    "model": text, "name": text, "install_address": text,
    "installed_on": optional_date, "warranty_until": optional_date,
    "configuration": plain_object, "maintainer": optional_text,
}


def product_details(body: Body) -> Body:
    """The product details `body` holds, each checked by its type; absent ones
    are left out, so a PATCH changes only what it names."""
    return {field: read(body, field) for field, read in DETAIL_READERS.items() if field in body}
