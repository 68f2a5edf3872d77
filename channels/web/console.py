"""The agent console: the unified inbox and the request page.

Three panes, as UI.md asks: the queues with their counts, the list of the
chosen queue, and the open request (on `/console/requests/{ref}`; on
`/console` the third pane invites a choice).  The list and the timeline are
also served alone (`?part=list`, `?part=timeline`) for the live updates.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from channels.web.attachments import number_attachments
from channels.web.call_back import call_back
from channels.web.complaint_pages import unread_badge, workflow_context
from channels.web.field_context import field_context
from channels.web.labels import N_
from channels.web.pages import page, render, web_of
from channels.web.sessions import SessionUser
from domain import ids
from domain.errors import DomainError, NotFound
from domain.teams.handlers import all_teams
from domain.users.handlers import all_users
from domain.vocabulary import CHANNELS, PRIORITIES, STAFF_ROLES, STATUSES
from projections import access_log, console_queries, queries
from projections.knowledge import article as kb_article
from projections.knowledge import search as kb_search

# The sidebar, in order: (queue parameter, label).  Labels are msgids.
QUEUES = (("", N_("All open")), ("unassigned", N_("Unassigned")), ("mine", N_("Mine")),
          ("pending_customer", N_("Waiting for customer")), ("escalated", N_("Escalated")),
          ("sla_at_risk", N_("SLA at risk")), ("delivery_failed", N_("Delivery failed")),
          ("fax_verification", N_("Fax to verify")))
# Queues with a page of their own instead of the inbox's list (channels.web.fax_pages).
QUEUE_PAGES = {"fax_verification": "/console/faxes"}
LIST_PARAMS = ("queue", "channel", "status", "q", "sort", "cursor")
# The list's orders, as the sort menu offers them (projections.queries.INBOX_SORTS).
SORTS = (("activity", N_("Last activity")), ("sla", N_("Due soonest")),
         ("priority", N_("Priority")))
PAGE_SIZE = 50


def console_routes() -> list[BaseRoute]:
    return [
        page("/console", inbox, "work_queues"),
        page("/console/requests/{ref}", request_page, "work_queues"),
    ]


def list_params(request: Request) -> dict[str, str]:
    params = {k: v for k, v in request.query_params.items() if k in LIST_PARAMS and v}
    params["limit"] = str(PAGE_SIZE)
    return params


async def inbox_context(request: Request, user: SessionUser) -> dict[str, Any]:
    web = web_of(request)
    params = list_params(request)
    try:
        found = await run_in_threadpool(console_queries.inbox_page, web.models, user.principal,
                                        params)
        problem = None
    except DomainError as e:  # a hand-edited URL: say so, show an empty list
        found, problem = {"items": [], "next_cursor": None}, e.message
    counts = await run_in_threadpool(
        web.recent_counts.get, user.principal.email,
        lambda: console_queries.queue_counts(web.models, user.principal))
    references = [item["reference"] for item in found["items"]]
    seen: dict[str, str] = {}
    if web.access_log is not None and references:
        seen = await run_in_threadpool(web.access_log.last_reads, user.principal.email,
                                       access_log.SERVICE_REQUEST, references)
    for item in found["items"]:
        last_read = seen.get(item["reference"])
        item["unread"] = last_read is None or last_read < item["last_activity_at"]
    listed = {k: v for k, v in params.items() if k not in ("cursor", "limit")}
    teams = await run_in_threadpool(web.recent_staff.get, "teams", lambda: _teams(web))
    return {"live_list": "/console?" + urlencode({**listed, "part": "list"}),
            "items": found["items"], "next_cursor": found["next_cursor"], "counts": counts,
            "sorts": SORTS, "queues": QUEUES, "queue_pages": QUEUE_PAGES, "channels": CHANNELS,
            "params": params, "problem": problem, "teams": teams,
            "unread_notifications": await unread_badge(request, user)}


async def inbox(request: Request, user: SessionUser) -> Response:
    context = await inbox_context(request, user)
    template = "console/list.html" if request.query_params.get("part") == "list" \
        else "console/inbox.html"
    return render(request, template, **context, current=None)


async def request_context(request: Request, user: SessionUser, reference: str
                          ) -> dict[str, Any]:
    web = web_of(request)
    if not ids.REFERENCE_PATTERN.fullmatch(reference):
        raise NotFound(f"no service request {reference}")
    found = await run_in_threadpool(queries.service_request, web.models, user.principal,
                                    reference)
    await web.accessed(user.principal, access_log.SERVICE_REQUEST, reference,
                       {"page": "request"})
    customer: dict[str, Any] | None
    try:
        customer = await run_in_threadpool(queries.customer_360, web.models, user.principal,
                                           found["customer_code"])
    except NotFound:  # not projected yet
        customer = None
    mark_deliveries(found["timeline"])
    inbound = [e for e in found["timeline"]
               if e.get("direction") == "inbound" and e.get("channel")]
    reply_channel = inbound[-1]["channel"] if inbound else found["channel"]
    staff = await run_in_threadpool(web.recent_staff.get, "staff", lambda: _staff(web))
    kb_query = request.query_params.get("kb", "").strip()[:200]
    articles = await run_in_threadpool(_articles, web, kb_query) if kb_query else []
    workflows = await workflow_context(request, user, reference, found.get("type", ""))
    listed = {k: v for k, v in request.query_params.items()
              if ((k in LIST_PARAMS and k != "cursor") or k == "kb") and v}
    # the teams (for the transfer form) come with the sidebar's inbox context
    return {**workflows,
            # what the page's live regions fetch again on a change (app.js): the
            # page itself, also when this rendering answers a refused POST
            "live_source": f"/console/requests/{reference}"
                           + (f"?{urlencode(listed)}" if listed else ""),
            "sr": found, "customer": customer, "reply_channel": reply_channel, "staff": staff,
            "can_urge": user.principal.may("urge"),
            "call_back": call_back(found, customer, web.app.store.reply_channels),
            "statuses": STATUSES, "priorities": PRIORITIES, "reply_channels": CHANNELS,
            "kb_query": kb_query, "articles": articles,
            **(await field_context(web, user.principal, reference))}


def mark_deliveries(timeline: list[dict[str, Any]]) -> None:
    """Give each reply its delivery state from the entries that follow it, and
    each attachment its number for downloading."""
    states: dict[str, str] = {}
    for entry in timeline:
        data = entry.get("data") or {}
        reply_id = data.get("reply_id") if isinstance(data, dict) else None
        if entry["kind"] == "delivery" and reply_id:
            states[reply_id] = "delivered"
        elif entry["kind"] == "delivery_failed" and reply_id:
            states[reply_id] = "failed" if data.get("final", True) else "retrying"
    number_attachments(timeline)
    said = {e["body"] for e in timeline if e["kind"] == "message" and e.get("body")}
    for entry in timeline:
        if entry["kind"] == "opened" and entry.get("body") in said:
            entry["body"] = ""  # the message that opened it follows, with this text
        if entry["kind"] == "reply":
            data = entry.get("data") or {}
            entry["delivery"] = states.get(data.get("reply_id", ""), "queued")


def _articles(web: Any, query: str) -> list[dict[str, Any]]:
    """Matching articles with their whole text, to insert into a reply."""
    found = kb_search(web.models["knowledge"], query, 5, None)
    for hit in found:
        whole = kb_article(web.models["knowledge"], hit["article_id"]) or {}
        hit["body"] = whole.get("body", hit["snippet"])
    return found


def _staff(web: Any) -> list[dict[str, str]]:
    return [{"email": u.email, "name": u.name} for u in all_users(web.app.store)
            if u.active and any(r in STAFF_ROLES for r in u.roles)]


def _teams(web: Any) -> list[dict[str, str]]:
    return [{"code": t.code, "name": t.name} for t in all_teams(web.app.store)]


async def request_page(request: Request, user: SessionUser) -> Response:
    reference = request.path_params["ref"]
    context = await request_context(request, user, reference)
    if request.query_params.get("part") == "timeline":
        return render(request, "console/timeline.html", **context)
    return render(request, "console/request.html", **context,
                  **(await inbox_context(request, user)), current=reference,
                  kept={}, errors={}, conflict=None)
