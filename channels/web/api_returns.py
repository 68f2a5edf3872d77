"""JSON commands of the returns (RMA, 退换货) and quality-feedback workflows.

- `POST /service-requests/{ref}/diagnosis` `{cause, findings?}` (the engineer)
- `POST /service-requests/{ref}/judgement` `{decision, reason}` (the technical centre)
- `POST /service-requests/{ref}/approval` `{approved, comment?}` (a manager)
- `POST /quality-cases` `{source_reference, origin, product, batch, symptom, serial?}`
- `POST /quality-cases/{code}/investigation` `{note?}` and `/conclusion` `{conclusion}`

Out-of-order steps are refused by the aggregates (422 with a message).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.web.json_input import optional_text, text
from domain.access import Principal
from domain.application import Ledgerdesk
from domain.errors import invalid
from domain.quality.commands import ConcludeQualityCase, RaiseQualityCase, StartInvestigation
from domain.returns.commands import Approve, Diagnose, Judge

Body = dict[str, Any]


def returns_routes(app: Ledgerdesk) -> list[Route]:
    # channels.web.api includes these routes: imported when they are built (no cycle).
    from channels.web.api import CommandRoute

    c = ReturnCommands(app)
    return [
        CommandRoute("/service-requests/{ref}/diagnosis", "POST", "diagnose_return",
                     c.diagnosis, ("cause", "findings")),
        CommandRoute("/service-requests/{ref}/judgement", "POST", "judge_return",
                     c.judgement, ("decision", "reason")),
        CommandRoute("/service-requests/{ref}/approval", "POST", "approve_return",
                     c.approval, ("approved", "comment")),
        CommandRoute("/quality-cases", "POST", "quality", c.raise_case,
                     ("source_reference", "origin", "product", "batch", "symptom", "serial")),
        CommandRoute("/quality-cases/{code}/investigation", "POST", "quality", c.investigate,
                     ("note",)),
        CommandRoute("/quality-cases/{code}/conclusion", "POST", "quality", c.conclude,
                     ("conclusion",)),
    ]


def boolean(body: Body, field: str) -> bool:
    value = body.get(field)
    if not isinstance(value, bool):
        raise invalid(field, f"{field} is required: true or false")
    return value


class ReturnCommands:
    def __init__(self, app: Ledgerdesk) -> None:
        self.app = app

    async def _handle(self, command: object) -> Any:
        return await run_in_threadpool(self.app.handle, command)

    async def diagnosis(self, request: Request, who: Principal, body: Body) -> Response:
        reference = request.path_params["ref"]
        await self._handle(Diagnose(reference, text(body, "cause"), actor=who.email,
                                    findings=text(body, "findings", "")))
        return JSONResponse({"reference": reference, "stage": "diagnosed"}, 201)

    async def judgement(self, request: Request, who: Principal, body: Body) -> Response:
        reference = request.path_params["ref"]
        decision = text(body, "decision")
        await self._handle(Judge(reference, decision, text(body, "reason"), actor=who.email))
        return JSONResponse({"reference": reference, "stage": "judged", "decision": decision})

    async def approval(self, request: Request, who: Principal, body: Body) -> Response:
        reference = request.path_params["ref"]
        approved = boolean(body, "approved")
        await self._handle(Approve(reference, approved, actor=who.email,
                                   comment=text(body, "comment", "")))
        return JSONResponse({"reference": reference, "approved": approved})

    async def raise_case(self, request: Request, who: Principal, body: Body) -> Response:
        code: str = await self._handle(RaiseQualityCase(
            text(body, "source_reference"), text(body, "origin"), text(body, "product"),
            text(body, "batch"), text(body, "symptom"), actor=who.email,
            serial=optional_text(body, "serial"),
        ))
        return JSONResponse({"code": code, "status": "open"}, 201)

    async def investigate(self, request: Request, who: Principal, body: Body) -> Response:
        code = request.path_params["code"]
        await self._handle(StartInvestigation(code, actor=who.email,
                                              note=text(body, "note", "")))
        return JSONResponse({"code": code, "status": "investigating"})

    async def conclude(self, request: Request, who: Principal, body: Body) -> Response:
        code = request.path_params["code"]
        await self._handle(ConcludeQualityCase(code, text(body, "conclusion"), actor=who.email))
        return JSONResponse({"code": code, "status": "concluded"})
