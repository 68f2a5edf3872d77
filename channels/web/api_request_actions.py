"""JSON commands on a service request that the contract lists beside replies
and notes: escalate (staff), the customer's satisfaction rating and the
customer's follow-up message.

Mounted by channels.web.api.command_routes; the OpenAPI paths are in
read_api.openapi_request_actions.  The domain commands are the ones the console
(escalate form), the portal and the CSAT survey already use, so a rating from
here and one from a survey link are the same "one per resolution".
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.web.json_input import expected_version, optional_moment, text
from domain import access, ids
from domain.access import Principal
from domain.application import Ledgerdesk
from domain.errors import NotFound, invalid
from domain.requests.commands import (
    Escalate,
    InboundMessage,
    RateSatisfaction,
    RecordInbound,
)
from projections import customer_view, queries
from projections.registry import ReadModels

Body = dict[str, Any]
MAX_LEVEL = 99  # the console's form takes two digits
COMMENT_MAX = 2000  # as the portal's rating form
BODY_MAX = 20000


def request_action_routes(app: Ledgerdesk, models: ReadModels | None = None) -> list[Route]:
    # Imported here: channels.web.api imports this module for its one line.
    from channels.web.api import CommandRoute, actor_of

    async def handle(command: object) -> Any:
        return await run_in_threadpool(app.handle, command)

    async def theirs(request: Request, who: Principal) -> str:
        """The request's reference, once a customer is known to see it: another
        organisation's request is a 404, exactly like an unknown one; a partner
        acts only with the portal's requests module granted."""
        reference = str(request.path_params["ref"])
        if not ids.REFERENCE_PATTERN.fullmatch(reference):
            raise NotFound(f"no service request {reference}")
        found = await run_in_threadpool(app.service_request, reference)
        access.require_visible(who, found.customer_code, f"service request {reference}")
        if models is not None and customer_view.sees_own_only(who):
            # A plain customer acts on the requests they opened or wrote on, as
            # in the portal (CONTRACT.md, "Who may do what"): the rest is a 404.
            await run_in_threadpool(queries.service_request, models, who, reference)
        if who.is_partner and who.customer_code:
            customer = await run_in_threadpool(app.customer, who.customer_code)
            access.require_module(who, customer.portal_modules, "requests")
        return reference

    async def escalate(request: Request, who: Principal, body: Body) -> Response:
        await handle(Escalate(
            str(request.path_params["ref"]), text(body, "reason"), actor=actor_of(who),
            level=level(body), due_at=optional_moment(body, "due_at"),
            expected_version=expected_version(body)))
        return JSONResponse({})

    async def rate(request: Request, who: Principal, body: Body) -> Response:
        reference = await theirs(request, who)
        await handle(RateSatisfaction(
            reference, score(body), bounded(body, "comment", COMMENT_MAX, ""),
            actor=actor_of(who), expected_version=expected_version(body)))
        return JSONResponse({}, status_code=201)

    async def follow_up(request: Request, who: Principal, body: Body) -> Response:
        reference = await theirs(request, who)
        message = bounded(body, "body", BODY_MAX)
        if not message.strip():
            raise invalid("body", "write a message")
        # As the portal's follow-up form: a customer message on the web channel,
        # threaded onto this request (a resolved one opens again).
        await handle(RecordInbound(InboundMessage(
            "web", f"api:{who.email}:{uuid.uuid4().hex}", who.email, message,
            reference=reference, customer_code=who.customer_code)))
        return JSONResponse({}, status_code=201)

    base = "/service-requests/{ref}"
    return [
        CommandRoute(f"{base}/escalate", "POST", "change_status", escalate,
                     ("reason", "level", "due_at", "expected_version")),
        CommandRoute(f"{base}/satisfaction", "POST", "rate", rate,
                     ("score", "comment", "expected_version")),
        CommandRoute(f"{base}/follow-ups", "POST", "follow_up", follow_up, ("body",)),
    ]


def score(body: Body) -> int:
    """1 to 5, a JSON integer: "5", 4.5, true and NaN are refused, not coerced."""
    if body.get("score") is None:
        raise invalid("score", "score is required")
    return whole(body, "score", 5)


def level(body: Body) -> int | None:
    return None if body.get("level") is None else whole(body, "level", MAX_LEVEL)


def whole(body: Body, field: str, most: int) -> int:
    """A whole number from 1 to `most`; JSON's 5.0 is the integer 5 (as JSON
    Schema reads it), but a string or a boolean is not a number."""
    value = body[field]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise invalid(field, f"{field} must be a whole number from 1 to {most}")
    return value


def bounded(body: Body, field: str, limit: int, default: str | None = None) -> str:
    value = text(body, field, default)
    if len(value) > limit:
        raise invalid(field, f"{field} is longer than {limit} characters")
    return value
