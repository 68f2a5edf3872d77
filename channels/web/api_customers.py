"""Customer upkeep over /api/v1 (issue 15, item 10): the profile, contacts,
channel identities, the dedicated representative (一对一服务) and merging a
provisional customer into a real one.

Each endpoint builds the command the console's customer page builds
(channels.web.customer_pages), so both refuse the same things the same way:
an unknown customer is 404, an identity another customer holds 409, merging a
customer that is not provisional 422, bad input 400 naming the field.  Phone
and fax numbers are read into E.164 here (channels.web.json_input.phone_number)
so a number the API cannot read is a 400 naming the body's field.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.web.json_input import nonempty_text, optional_text, phone_number, text
from domain.access import Principal
from domain.application import Ledgerdesk
from domain.customers.commands import (
    AddContact,
    AssignRepresentative,
    LinkIdentity,
    MergeCustomer,
    RemoveContact,
    UnlinkIdentity,
    UpdateCustomer,
)
from domain.errors import invalid
from domain.ids import NUMBER_KINDS
from domain.vocabulary import IDENTITY_KINDS, require_one_of

# What a profile change may name (only the fields given change): the core ones, and
# the free ones the console edits.
PROFILE_FIELDS = ("name", "kind", "classification", "region", "address")
CONTACT_FIELDS = ("name", "department", "phone", "email")


Body = dict[str, Any]


def customer_routes(app: Ledgerdesk) -> list[Route]:
    # channels.web.api includes these routes: its parts are imported when they
    # are built rather than when this module loads (no import cycle).
    from channels.web.api import CommandRoute

    c = CustomerCommands(app)
    return [
        CommandRoute("/customers/{code}/profile", "POST", "manage_customers", c.update,
                     PROFILE_FIELDS),
        CommandRoute("/customers/{code}/contacts", "POST", "manage_customers", c.add_contact,
                     CONTACT_FIELDS),
        CommandRoute("/customers/{code}/contacts/remove", "POST", "manage_customers",
                     c.remove_contact, ("contact_id",)),
        CommandRoute("/customers/{code}/identities", "POST", "manage_customers",
                     c.link_identity, ("kind", "value")),
        CommandRoute("/customers/{code}/identities/remove", "POST", "manage_customers",
                     c.unlink_identity, ("kind", "value")),
        CommandRoute("/customers/{code}/representative", "POST", "manage_customers",
                     c.representative, ("representative",)),
        CommandRoute("/customers/{code}/merge", "POST", "manage_customers", c.merge,
                     ("into",)),
    ]


def _answer(content: dict[str, Any], status_code: int = 200) -> Response:
    return JSONResponse(content, status_code=status_code)


def _identity(body: Body) -> tuple[str, str]:
    kind = require_one_of(text(body, "kind"), IDENTITY_KINDS, "kind")
    value = text(body, "value")
    if kind in NUMBER_KINDS:
        value = phone_number("value", value)
    return kind, value


def actor_of(who: Principal) -> str:
    from channels.web.api import actor_of

    return actor_of(who)


class CustomerCommands:
    def __init__(self, app: Ledgerdesk) -> None:
        self.app = app

    async def _handle(self, command: object) -> Any:
        return await run_in_threadpool(self.app.handle, command)

    async def update(self, request: Request, who: Principal, body: Body) -> Response:
        code = request.path_params["code"]
        changes = {field: text(body, field) for field in PROFILE_FIELDS if field in body}
        await self._handle(UpdateCustomer(code, changes, actor=actor_of(who)))
        return _answer({"code": code})

    async def add_contact(self, request: Request, who: Principal, body: Body) -> Response:
        # null is "not given"; anything else must be a number or an address.
        phone = "" if body.get("phone") is None else phone_number("phone", text(body, "phone"))
        email = "" if body.get("email") is None else text(body, "email")
        if body.get("email") is not None and "@" not in email:
            raise invalid("email", f"{email!r} is not an email address")
        contact_id: str = await self._handle(AddContact(
            request.path_params["code"], text(body, "name"), actor=actor_of(who),
            department=text(body, "department", ""), phone=phone, email=email,
        ))
        return _answer({"contact_id": contact_id}, 201)

    async def remove_contact(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(RemoveContact(request.path_params["code"],
                                         nonempty_text(body, "contact_id"), actor=actor_of(who)))
        return _answer({})

    async def link_identity(self, request: Request, who: Principal, body: Body) -> Response:
        kind, value = _identity(body)
        await self._handle(LinkIdentity(request.path_params["code"], kind, value,
                                        actor=actor_of(who)))
        return _answer({"kind": kind, "value": value}, 201)

    async def unlink_identity(self, request: Request, who: Principal, body: Body) -> Response:
        kind, value = _identity(body)
        await self._handle(UnlinkIdentity(request.path_params["code"], kind, value,
                                          actor=actor_of(who)))
        return _answer({})

    async def representative(self, request: Request, who: Principal, body: Body) -> Response:
        if "representative" not in body:
            text(body, "representative")  # a 400 naming it: null clears, absent is a mistake
        email = optional_text(body, "representative")
        await self._handle(AssignRepresentative(request.path_params["code"], email,
                                                actor=actor_of(who)))
        return _answer({"representative": email})

    async def merge(self, request: Request, who: Principal, body: Body) -> Response:
        into = nonempty_text(body, "into")
        await self._handle(MergeCustomer(request.path_params["code"], into,
                                         actor=actor_of(who)))
        return _answer({"code": into})
