"""Reads of the returns and quality workflows, and the engineers' wage settlement.

- `GET /service-requests/{ref}/return`: the RMA case as staff see it (read from its
  aggregate, so a step just taken shows at once)
- `GET /quality-cases?team=&status=` and `GET /quality-cases/{code}`
- `GET /reports/settlement?from=&to=`: per engineer, completed jobs, minutes, amount
- `GET /products/{serial}`: a unit with its repair and part-replacement history
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from domain import access, ids
from domain.access import Principal
from domain.aggregates.return_case import ReturnCase
from domain.application import Ledgerdesk
from domain.errors import NotFound
from domain.requests.lookup import load_request
from domain.returns.handlers import find_case
from domain.text import unsafe_character
from projections import product_queries, quality, report_queries, settlement
from projections.customers import granted_modules
from projections.registry import ReadModels


def return_case_json(case: ReturnCase) -> dict[str, Any]:
    return {
        "reference": case.reference, "customer_code": case.customer_code,
        "serial": case.serial, "model": case.model, "stage": case.stage,
        "cause": case.cause, "findings": case.findings, "engineer": case.engineer,
        "decision": case.decision, "reason": case.reason, "judged_by": case.judged_by,
        "approved": case.approved, "approved_by": case.approved_by, "comment": case.comment,
    }


def returns_query_routes(app: Ledgerdesk, models: ReadModels) -> list[Route]:
    # read_api.app includes these routes: imported when they are built (no cycle).
    from read_api.app import check_storable, guarded

    def return_case(reference: str) -> dict[str, Any]:
        if not ids.REFERENCE_PATTERN.match(reference):
            raise NotFound(f"no service request {reference!r}")
        load_request(app.store, reference)
        case = find_case(app.store, reference)
        if case is None:
            raise NotFound(f"{reference} has no return case yet (no diagnosis)")
        return return_case_json(case)

    async def get_return(request: Request, who: Principal) -> Any:
        return await run_in_threadpool(return_case, request.path_params["ref"])

    async def list_cases(request: Request, who: Principal) -> Any:
        team = request.query_params.get("team") or None
        status = request.query_params.get("status") or None
        check_storable("team", team)
        items = await run_in_threadpool(quality.quality_cases, models["quality"], team, status)
        return {"items": items}

    async def get_case(request: Request, who: Principal) -> Any:
        code = request.path_params["code"]
        if unsafe_character(code) is not None:
            raise NotFound(f"no quality case {code!r}")
        return await run_in_threadpool(quality.quality_case, models["quality"], code)

    async def get_settlement(request: Request, who: Principal) -> Any:
        start, end, _team = report_queries.period(dict(request.query_params), app.clock.now())
        return await run_in_threadpool(settlement.settlement, models["settlement"], start, end)

    async def get_product(request: Request, who: Principal) -> Any:
        serial = request.path_params["serial"]
        if unsafe_character(serial) is not None:
            raise NotFound(f"no product with serial {serial!r}")
        if who.is_partner:  # a dealer reads products only with the module granted
            granted = await run_in_threadpool(granted_modules, models["customers"],
                                              who.customer_code or "")
            access.require_module(who, granted, "products")
        return await run_in_threadpool(product_queries.product, models, who, serial)

    return [
        guarded("/reports/settlement", "read_settlement", get_settlement),
        guarded("/products/{serial}", "read_own", get_product),
        guarded("/service-requests/{ref}/return", "read_queues", get_return),
        guarded("/quality-cases", "read_queues", list_cases),
        guarded("/quality-cases/{code}", "read_queues", get_case),
    ]
