"""The console's reports page (`/console/reports`) and its CSV export.

Staff and auditors (permission read_queues) see the summary the JSON API
gives (projections.report_queries) for a period and optionally a team, with
charts drawn here as SVG: bars for volume by channel and by type, a histogram
of first-response times.  No chart library and no script: the page works
under the CSP that forbids inline styles and foreign scripts, and the shapes'
geometry is computed here, so the template only places rectangles.
Times are business hours of the `[sla]` calendar (projections.report_queries),
and the page says which hours those are, so a manager reads "1 h" after a
weekend as one working hour; the wall-clock figures are shown beside them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from babel.dates import format_timedelta, get_day_names
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from channels.web.csv_export import csv_download
from channels.web.labels import N_
from channels.web.pages import domain_message, formatter_of, page, render, web_of
from channels.web.sessions import SessionUser
from domain.business_time import BusinessCalendar
from domain.errors import DomainError
from domain.sla.policy import SlaSettings
from projections import report_queries
from projections.report_queries import AGE_BUCKETS, RESPONSE_BUCKETS

CHART_WIDTH = 360
BAR_HEIGHT = 18
BAR_GAP = 6
LABEL_WIDTH = 110
HISTOGRAM_HEIGHT = 154  # with two lines of label under the columns
# Cells a spreadsheet would read as a formula (a team code "=1+1"); unlike the
# settlement export, a leading "-" is kept as it was.
FORMULA_STARTS = ("=", "+", "@", "\t", "\r")
# Histogram and backlog bucket names (`fmt.gettext(name)` in the template).
RESPONSE_NAMES = (N_("≤ 15 min"), N_("≤ 1 h"), N_("≤ 4 h"), N_("≤ 8 h"), N_("≤ 24 h"),
                  N_("> 24 h"))
AGE_NAMES = (N_("< 1 day"), N_("1–3 days"), N_("3–7 days"), N_("7–30 days"), N_("≥ 30 days"))
assert len(RESPONSE_NAMES) == len(RESPONSE_BUCKETS) + 1 and len(AGE_NAMES) == len(AGE_BUCKETS) + 1


def bars(counts: dict[str, int], prefix: str) -> dict[str, Any]:
    """Horizontal bars, one per key: msgid (`prefix` + key), count, geometry."""
    top = max(counts.values(), default=0) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 40
    rows = [{"label": prefix + key, "count": n, "y": i * (BAR_HEIGHT + BAR_GAP),
             "width": round(span * n / top) if n else 0}
            for i, (key, n) in enumerate(counts.items())]
    return {"rows": rows, "height": max(1, len(rows)) * (BAR_HEIGHT + BAR_GAP),
            "width": CHART_WIDTH, "label_width": LABEL_WIDTH, "bar_height": BAR_HEIGHT}


def histogram(counts: list[int], names: tuple[str, ...]) -> dict[str, Any]:
    """Vertical columns, one per bucket."""
    top = max(counts, default=0) or 1
    column = CHART_WIDTH // max(1, len(counts))
    plot = HISTOGRAM_HEIGHT - 44
    columns = [{"label": names[i], "count": n, "x": i * column + 4, "width": column - 8,
                "height": round(plot * n / top) if n else 0,
                "y": 10 + plot - (round(plot * n / top) if n else 0)}
               for i, n in enumerate(counts)]
    return {"columns": columns, "width": CHART_WIDTH, "height": HISTOGRAM_HEIGHT,
            "baseline": 10 + plot, "column": column}


def sla_of(request: Request) -> SlaSettings:
    """The settings the report measured with (report_queries.timing_of)."""
    settings = getattr(web_of(request).models["reports"].view, "sla", None)
    return settings if isinstance(settings, SlaSettings) else SlaSettings()


def describe_hours(calendar: BusinessCalendar, locale: Any) -> str:
    """"Mon–Fri 09:00–18:00 (Asia/Shanghai)": consecutive days with the same
    windows as one range, in the reader's language."""
    names = get_day_names("abbreviated", locale=locale)
    groups: list[tuple[int, int, tuple[Any, ...]]] = []
    for day in range(7):
        windows = tuple(calendar.hours.get(day, ()))
        if groups and groups[-1][2] == windows and groups[-1][1] == day - 1:
            groups[-1] = (groups[-1][0], day, windows)
        else:
            groups.append((day, day, windows))
    parts = []
    for first, last, windows in groups:
        if not windows:
            continue
        days = names[first] if first == last else f"{names[first]}–{names[last]}"
        spans = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in windows)
        parts.append(f"{days} {spans}")
    return f"{'; '.join(parts)} ({calendar.zone})"


async def _report(request: Request) -> dict[str, Any]:
    web = web_of(request)
    now = web.app.clock.now()
    start, end, team = report_queries.period(dict(request.query_params), now)
    return await run_in_threadpool(report_queries.summary, web.models["reports"], start,
                                   end, now, team)


async def reports(request: Request, user: SessionUser) -> Response:
    params = {k: request.query_params.get(k, "") for k in ("from", "to", "team")}
    try:
        report = await _report(request)
    except DomainError as e:
        return render(request, "console/reports.html", status_code=400, nav="reports",
                      params=params, error=domain_message(request, e), report=None)
    first = report["first_response"]
    charts = {
        "channels": bars(report["volume"]["by_channel"], "channel:"),
        "types": bars(report["volume"]["by_type"], "type:"),
        "response": histogram([b["count"] for b in first["histogram"]], RESPONSE_NAMES),
    }
    ages = [{"label": AGE_NAMES[i], "count": b["count"]}
            for i, b in enumerate(report["backlog"]["by_age"])]
    locale = formatter_of(request).locale

    def span(seconds: float | None) -> str:
        if seconds is None:
            return "—"
        return format_timedelta(timedelta(seconds=seconds), threshold=1.5, format="short",
                                locale=locale)

    sla = sla_of(request)
    calendar = sla.calendar(report["team"])
    # Without a team filter, requests of a team with its own hours count in those.
    team_hours = not report["team"] and any(k.startswith("team:") for k in sla.calendars)
    return render(request, "console/reports.html", nav="reports", params=params,
                  report=report, charts=charts, ages=ages, span=span,
                  hours=describe_hours(calendar, locale), holidays=bool(calendar.holidays),
                  team_hours=team_hours, csv_query=request.url.query)


async def reports_csv(request: Request, user: SessionUser) -> Response:
    try:
        report = await _report(request)
    except DomainError as e:
        return Response(domain_message(request, e), status_code=400, media_type="text/plain")
    name = f"ledgerdesk-report-{report['from'][:10]}-{report['to'][:10]}.csv"
    return csv_download(report_queries.csv_rows(report), name, formula_starts=FORMULA_STARTS)


def reports_routes() -> list[Any]:
    return [page("/console/reports", reports, "read_queues"),
            page("/console/reports.csv", reports_csv, "read_queues")]
