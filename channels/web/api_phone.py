"""The JSON command that completes a phone-mode job (电话解决, issue 16 gap 3):
`POST /service-requests/{ref}/phone-resolution {summary, minutes}` by the
engineer or agent who answered; the wage settlement counts it at the phone
rate.  Mounted by channels.web.api; a non-phone job is a 422."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.web.api_field import whole_number
from channels.web.json_input import text
from domain.access import Principal
from domain.application import Ledgerdesk
from domain.field_service.commands import ResolveByPhone

Body = dict[str, Any]


def phone_routes(app: Ledgerdesk) -> list[Route]:
    from channels.web.api import CommandRoute  # api.py includes these (no import cycle)

    async def resolve(request: Request, who: Principal, body: Body) -> Response:
        reference = request.path_params["ref"]
        await run_in_threadpool(app.handle, ResolveByPhone(
            reference, text(body, "summary"), whole_number(body, "minutes"), actor=who.email))
        return JSONResponse({"reference": reference, "stage": "resolved"}, 201)

    return [CommandRoute("/service-requests/{ref}/phone-resolution", "POST", "field_work",
                         resolve, ("summary", "minutes"))]
