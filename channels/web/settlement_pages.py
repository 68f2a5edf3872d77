"""The console's wage settlement page (`/console/settlement`, 服务工资结算) and its
CSV export for payroll: per engineer the completed jobs, minutes and amount of a
period, and every job with its mode, distance band and amount, so payroll can
check each line against the rate card (projections.settlement)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from channels.web.csv_export import csv_download
from channels.web.pages import domain_message, page, render, web_of
from channels.web.sessions import SessionUser
from domain.errors import DomainError
from projections import report_queries, settlement

# Cells a spreadsheet would read as a formula (amounts are never negative).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def _report(request: Request) -> dict[str, Any]:
    web = web_of(request)
    start, end, _team = report_queries.period(
        {k: request.query_params.get(k, "") for k in ("from", "to")}, web.app.clock.now())
    return await run_in_threadpool(settlement.settlement, web.models["settlement"], start, end)


async def settlement_page(request: Request, user: SessionUser) -> Response:
    params = {k: request.query_params.get(k, "") for k in ("from", "to")}
    try:
        report = await _report(request)
    except DomainError as e:
        return render(request, "console/settlement.html", status_code=400, nav="settlement",
                      params=params, error=domain_message(request, e), report=None)
    return render(request, "console/settlement.html", nav="settlement", params=params,
                  report=report, csv_query=request.url.query, error=None)


async def settlement_csv(request: Request, user: SessionUser) -> Response:
    try:
        report = await _report(request)
    except DomainError as e:
        return Response(domain_message(request, e), status_code=400, media_type="text/plain")
    name = f"ledgerdesk-settlement-{report['from'][:10]}-{report['to'][:10]}.csv"
    # A BOM, so a spreadsheet opens the Chinese text as UTF-8.
    return csv_download(settlement.csv_rows(report), name, formula_starts=FORMULA_STARTS,
                        bom=True)


def settlement_routes() -> list[Any]:
    return [page("/console/settlement", settlement_page, "read_settlement"),
            page("/console/settlement.csv", settlement_csv, "read_settlement")]
