"""The auditor's view: the audit trail and the access log, read-only.

What UI.md asks of it: a customer's or a request's events in order (position,
time, actor, channel, type, data), the chain's verify result and head hash,
filters by actor and date, and export.  The filters are the JSON API's
(`/api/v1/audit`, the CLI's `audit export`), so a link an auditor copies from
one finds the same events in the other.

Read-only by construction: these pages render no form that posts (the
filters are GET forms), so there is nothing for an auditor to press; every
console POST refuses auditors anyway (domain.access).  Every read, export
and page of the access log itself is recorded in the access log, like the
API's: who looked at whose history is itself evidence.

An unknown customer or request is said so on the page (404), not shown as an
empty table, which would read as "nothing happened".
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from channels.web.pages import Web, domain_message, page, render, web_of
from channels.web.sessions import SessionUser
from domain.errors import DomainError, InvalidInput, NotFound, invalid
from domain.text import unsafe_character
from projections import access_log, queries
from projections.audit import EXPORT_COLUMNS, audit_events, unknown_subject, verify

FILTERS = ("customer", "request", "actor", "since", "until")
PAGE_SIZE = 100
# The longest filter value worth sending to a store (an email address's limit).
MAX_FILTER_LENGTH = 320
# Cursors are positions / sequence numbers; the stores keep them in 63 bits.
MAX_CURSOR_DIGITS = 18
FORMATS = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8"}


def audit_routes() -> list[BaseRoute]:
    return [
        page("/console/audit", audit_page, "read_queues"),
        page("/console/audit/export", audit_export, "read_queues"),
        page("/console/audit/access", access_page, "read_access_log"),
        page("/console/audit/access/export", access_export, "read_access_log"),
    ]


def given_filters(request: Request) -> dict[str, str]:
    """The filters in the query, stripped, refused (InvalidInput) when no store
    could hold them: a control character, or longer than any real value."""
    found: dict[str, str] = {}
    for name in FILTERS:
        value = request.query_params.get(name, "").strip()
        if not value:
            continue
        if unsafe_character(value) is not None:
            raise invalid(name, f"{name} contains a control character")
        if len(value) > MAX_FILTER_LENGTH:
            raise invalid(name, f"{name} is at most {MAX_FILTER_LENGTH} characters")
        found[name] = value
    if "customer" in found and any(c.isspace() for c in found["customer"]):
        raise NotFound(f"nothing recorded for customer {found['customer']!r}")
    return found


def given_cursor(request: Request) -> str:
    cursor = request.query_params.get("cursor", "").strip()
    if cursor and not (cursor.isascii() and cursor.isdigit()
                       and len(cursor) <= MAX_CURSOR_DIGITS):
        raise invalid("cursor", "cursor is not one this page gave out")
    return cursor


def pretty(data: Any) -> str:
    """An event's data as a person reads it: indented JSON, non-ASCII as is
    (the template escapes it)."""
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def shown(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    channel = data.get("channel") if isinstance(data, dict) else None
    return {**event, "pretty": pretty(data), "channel": channel if isinstance(channel, str)
            else None}


# A whole walk of the chain reads every event (seconds at a million): an audit
# page shows the last whole walk, continued over what came since, and walks the
# whole chain again when that is older than this, or when asked (?verify=now).
FULL_CHECK_AGE = 600.0


async def chain_check(web: Web, again: bool = False) -> dict[str, Any]:
    """The audit chain recomputed from the event store (projections.audit.verify):
    whole when due, else continued from the last whole walk this process made."""
    kept = web.chain_walk
    now = time.monotonic()
    if again or kept is None or now - kept["walked"] > FULL_CHECK_AGE \
            or not kept["result"].intact:
        result = await run_in_threadpool(verify, web.app.recorder, web.models["audit"])
        kept = {"walked": now, "walked_at": datetime.now(UTC), "result": result}
    else:
        result = await run_in_threadpool(verify, web.app.recorder, web.models["audit"],
                                         kept["result"], kept["result"].position)
        kept = {**kept, "result": result}
    web.chain_walk = kept
    return {"intact": result.intact, "checked": result.checked,
            "first_broken": result.first_broken, "head_hash": result.head_hash,
            "walked_at": kept["walked_at"]}



def export_links(path: str, filters: dict[str, str]) -> dict[str, str]:
    return {fmt: f"{path}?{urlencode({**filters, 'format': fmt})}" for fmt in FORMATS}


async def audit_page(request: Request, user: SessionUser) -> Response:
    web = web_of(request)
    filters: dict[str, str] = {k: v for k, v in request.query_params.items()
                               if k in FILTERS}  # as typed, to show in the form again
    events: list[dict[str, Any]] = []
    next_cursor: str | None = None
    problem: str | None = None
    status = 200
    try:
        filters = given_filters(request)
        cursor = given_cursor(request)
        params = {**filters, "limit": str(PAGE_SIZE), **({"cursor": cursor} if cursor else {})}
        found = await run_in_threadpool(queries.audit, web.models, user.principal, params)
        events = [shown(e) for e in found["events"]]
        next_cursor = found["next_cursor"]
        await web.accessed(user.principal, access_log.AUDIT_EXPORT, _subject(filters),
                           {**filters, **({"cursor": cursor} if cursor else {})})
    except NotFound as e:
        problem, status = domain_message(request, e), 404
    except InvalidInput as e:
        problem, status = domain_message(request, e), 400
    return render(request, "audit/events.html", status_code=status,
                  filters=filters, events=events, next_cursor=next_cursor, problem=problem,
                  intro=not filters,
                  chain=await chain_check(web, request.query_params.get("verify") == "now"),
                  exports=export_links("/console/audit/export", filters))


def _subject(filters: dict[str, str]) -> str:
    """What the access log files a read under: the customer or request read."""
    return filters.get("customer") or filters.get("request") or ""


def _export_format(request: Request) -> str:
    chosen = request.query_params.get("format", "jsonl")
    if chosen not in FORMATS:
        raise invalid("format", "format is jsonl or csv")
    return chosen


def download(name: str, chosen: str, lines: AsyncIterator[str]) -> Response:
    """A streamed attachment, never cached: it holds customers' history."""
    filename = f"{name}.{chosen}"
    return StreamingResponse(
        (line.encode() async for line in lines), media_type=FORMATS[chosen],
        headers={"Content-Disposition": f"attachment; filename=\"{filename}\"; "
                                        f"filename*=UTF-8''{quote(filename)}",
                 "Cache-Control": "no-store"})


def _file_name(prefix: str, subject: str) -> str:
    """A download's name from a code or reference: only characters safe in a
    header and on every file system."""
    safe = "".join(c for c in subject if c.isascii() and (c.isalnum() or c in "-_."))[:64]
    return f"{prefix}-{safe}" if safe else prefix


def export_problem(request: Request, error: DomainError, page_path: str) -> Response:
    """Why an export cannot run, on a page of its own (not error.html, whose
    message is a msgid: this one may quote what was typed, so it is escaped)."""
    status = 404 if isinstance(error, NotFound) else 400
    back = page_path + ("?" + request.url.query if request.url.query else "")
    return render(request, "audit/problem.html", status_code=status, status=status,
                  message=domain_message(request, error), back=back)


def csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


async def audit_export(request: Request, user: SessionUser) -> Response:
    """Every matching event, all pages, as `ledgerdesk audit export` writes
    them: JSONL with `data` as an object, or CSV with `data` as JSON text."""
    web = web_of(request)
    try:
        filters = given_filters(request)
        chosen = _export_format(request)
        wanted = queries.audit_filter(filters)
        storage = web.models["audit"]
        why = await run_in_threadpool(unknown_subject, storage, wanted)
        if why:
            raise NotFound(why)
    except (InvalidInput, NotFound) as e:
        return export_problem(request, e, "/console/audit")
    await web.accessed(user.principal, access_log.AUDIT_EXPORT, _subject(filters),
                       {**filters, "format": chosen})

    async def lines() -> AsyncIterator[str]:
        if chosen == "csv":
            yield csv_line(list(EXPORT_COLUMNS))
        position = 0
        while rows := await run_in_threadpool(audit_events, storage, wanted, position):
            for row in rows:
                if chosen == "csv":
                    yield csv_line([row[c] for c in EXPORT_COLUMNS])
                else:
                    yield json.dumps({**row, "data": json.loads(row["data"])},
                                     ensure_ascii=False) + "\n"
            position = rows[-1]["position"]

    return download(_file_name("audit", _subject(filters)), chosen, lines())


def _access_log(web: Web) -> access_log.AccessLog:
    if web.access_log is None:
        raise NotFound("this server keeps no access log")
    return web.access_log


async def access_page(request: Request, user: SessionUser) -> Response:
    """Who read whose data, oldest first, by page; the chain checked."""
    web = web_of(request)
    log = _access_log(web)
    filters: dict[str, str] = {k: v for k, v in request.query_params.items() if k in FILTERS}
    entries: list[dict[str, Any]] = []
    next_cursor: str | None = None
    problem: str | None = None
    status = 200
    try:
        filters = given_filters(request)
        cursor = given_cursor(request)
        wanted = queries.access_filter(filters)
        rows = await run_in_threadpool(log.entries, wanted, int(cursor or 0), PAGE_SIZE + 1)
        entries = [{**r, "pretty": pretty(r["detail"])} for r in rows[:PAGE_SIZE]]
        next_cursor = str(rows[PAGE_SIZE - 1]["seq"]) if len(rows) > PAGE_SIZE else None
        await web.accessed(user.principal, access_log.ACCESS_EXPORT, wanted.subject or "",
                           {**filters, **({"cursor": cursor} if cursor else {})})
    except NotFound as e:
        problem, status = domain_message(request, e), 404
    except InvalidInput as e:
        problem, status = domain_message(request, e), 400
    check = await run_in_threadpool(log.verify)
    return render(request, "audit/access.html", status_code=status,
                  filters=filters, entries=entries, next_cursor=next_cursor, problem=problem,
                  chain={"intact": check.intact, "checked": check.checked,
                         "first_broken": check.first_broken},
                  exports=export_links("/console/audit/access/export", filters))


async def access_export(request: Request, user: SessionUser) -> Response:
    """The access log as `ledgerdesk audit access` writes it."""
    web = web_of(request)
    log = _access_log(web)
    try:
        filters = given_filters(request)
        chosen = _export_format(request)
        wanted = queries.access_filter(filters)
    except (InvalidInput, NotFound) as e:
        return export_problem(request, e, "/console/audit/access")
    await web.accessed(user.principal, access_log.ACCESS_EXPORT, wanted.subject or "",
                       {**filters, "format": chosen})
    columns = list(access_log.COLUMNS)

    async def lines() -> AsyncIterator[str]:
        if chosen == "csv":
            yield csv_line(columns)
        after = 0
        while rows := await run_in_threadpool(log.entries, wanted, after):
            for row in rows:
                yield (csv_line([_access_cell(row, c) for c in columns]) if chosen == "csv"
                       else json.dumps(row, ensure_ascii=False) + "\n")
            after = rows[-1]["seq"]

    return download(_file_name("access-log", wanted.subject or ""), chosen, lines())


def _access_cell(row: dict[str, Any], column: str) -> Any:
    """A CSV cell of the access log: `detail` as JSON text, as the CLI writes it."""
    return json.dumps(row[column], ensure_ascii=False) if column == "detail" else row[column]
