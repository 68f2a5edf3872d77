"""The customer portal (seed 000's iSupport, done better): home, my service
requests, a request's page, opening one, knowledge, my products (preferences:
channels.web.portal_preferences).

Customers and partners see their own organisation only; a foreign reference
or serial is a 404 exactly like an unknown one (domain.access).  What they
write becomes the same commands the other channels produce: a new request is
OpenRequest, a follow-up is an inbound `web` message on the request (so it
counts as the customer speaking: the inbox marks it awaiting a reply).
Staff and auditors are sent to the console.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from channels.web.attachments import number_attachments
from channels.web.forms import form_text
from channels.web.i18n import parse_moment
from channels.web.labels import N_
from channels.web.pages import (
    checked_form,
    domain_message,
    flash,
    page,
    render,
    see_other,
    web_of,
)
from channels.web.portal_modules import SCOPE_KEY as MODULES_SCOPE_KEY
from channels.web.sessions import SessionUser
from channels.web.uploads import stored_uploads
from domain import ids
from domain.errors import DomainError, InvalidTransition, NotFound, invalid
from domain.knowledge.commands import AnswerArticle
from domain.requests.commands import (
    ChangeStatus,
    InboundMessage,
    OpenRequest,
    RateSatisfaction,
    RecordInbound,
)
from domain.vocabulary import REQUEST_TYPES, STATUSES
from projections import portal_queries, queries
from projections.knowledge import article as kb_article
from projections.knowledge import feedback as kb_feedback
from projections.knowledge import search as kb_search

# Subject and description limits of the form (the domain refuses longer text too).
SUBJECT_MAX, BODY_MAX = 200, 20_000


def portal_routes() -> list[BaseRoute]:
    return [
        page("/portal", home, "use_portal"),
        page("/portal/requests", request_list, "use_portal"),
        page("/portal/requests/new", new_request_form, "open_request"),
        page("/portal/requests/new", open_request, "open_request", methods=("POST",)),
        page("/portal/requests/{ref}", request_page, "use_portal"),
        page("/portal/requests/{ref}/follow-up", follow_up, "follow_up", methods=("POST",)),
        page("/portal/requests/{ref}/close", close, "close_own", methods=("POST",)),
        page("/portal/requests/{ref}/reopen", reopen, "close_own", methods=("POST",)),
        page("/portal/requests/{ref}/rate", rate, "rate", methods=("POST",)),
        page("/portal/kb", knowledge, "use_portal"),
        page("/portal/kb/{article_id}", article, "use_portal"),
        page("/portal/kb/{article_id}/answer", answer_article, "use_portal", methods=("POST",)),
        page("/portal/products", products, "use_portal"),
    ]


def actor(user: SessionUser) -> str:
    return f"web:{user.principal.email}"  # sealed with the customer's key (domain.personal)


async def _customer(request: Request, user: SessionUser) -> dict[str, Any] | None:
    code = user.principal.customer_code
    if not code:
        return None
    try:
        return await run_in_threadpool(queries.customer_360, web_of(request).models,
                                       user.principal, code)
    except NotFound:
        return None


async def home(request: Request, user: SessionUser) -> Response:
    web = web_of(request)
    visible = request.scope.get(MODULES_SCOPE_KEY)  # a partner's grant (portal_modules)
    mine = [] if visible is not None and "requests" not in visible else await run_in_threadpool(
        portal_queries.portal_requests, web.models, user.principal,
        {"status": portal_queries.UNRESOLVED}, 10)
    return render(request, "portal/home.html", tab="home", requests=mine,
                  customer=await _customer(request, user))


async def request_list(request: Request, user: SessionUser) -> Response:
    params = {k: v[:200] for k, v in request.query_params.items()
              if k in ("status", "type", "q", "sort")}
    rows = await run_in_threadpool(portal_queries.portal_requests, web_of(request).models,
                                   user.principal, params)
    return render(request, "portal/requests.html", tab="requests", requests=rows,
                  params=params, statuses=STATUSES, types=REQUEST_TYPES)


async def new_request_form(request: Request, user: SessionUser) -> Response:
    customer = await _customer(request, user)
    product = request.query_params.get("product", "")[:64]
    return render(request, "portal/new_request.html", tab="requests", types=REQUEST_TYPES,
                  products=customer["installed_products"] if customer else [],
                  kept={"product": product, "type": "repair" if product else ""}, errors={})


_form_text = form_text


async def open_request(request: Request, user: SessionUser) -> Response:
    web = web_of(request)
    form = await checked_form(request, web.form_limit)
    kept = {k: v for k, v in form.items() if isinstance(v, str)}
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    for name, limit, required in (("type", 40, True), ("subject", SUBJECT_MAX, True),
                                  ("description", BODY_MAX, False), ("product", 64, False)):
        try:
            values[name] = _form_text(form, name, limit, required)
        except DomainError as e:
            errors[name] = domain_message(request, e)
    if values.get("type") and values["type"] not in REQUEST_TYPES:
        errors["type"] = domain_message(request, invalid("type", N_("Choose a type.")))
    reference = None
    if not errors:
        try:
            files = await stored_uploads(form, web.blobs, customer=True)
            reference = await web.run(OpenRequest(
                user.principal.customer_code or "", values["type"], values["subject"],
                actor=actor(user), description=values["description"], channel="web",
                product=values["product"] or None))
            if files:  # the files arrive as the customer's first message on the request
                await web.run(RecordInbound(InboundMessage(
                    "web", f"portal:{uuid.uuid4()}", user.principal.email,
                    values["description"] or values["subject"], subject=values["subject"],
                    attachments=files, reference=reference,
                    customer_code=user.principal.customer_code)))
        except DomainError as e:
            field = next(iter(e.fields), "form")
            errors[field if field in kept or field == "attachments" else "form"] = \
                domain_message(request, e)
    if errors:
        customer = await _customer(request, user)
        return render(request, "portal/new_request.html", status_code=400, tab="requests",
                      types=REQUEST_TYPES, kept=kept, errors=errors,
                      products=customer["installed_products"] if customer else [])
    await web.shown(str(reference))
    flash(request, N_("Your request is registered. We will answer here and by email."))
    return see_other(f"/portal/requests/{reference}")


async def _request(request: Request, user: SessionUser, reference: str) -> dict[str, Any]:
    if not ids.REFERENCE_PATTERN.fullmatch(reference):
        raise NotFound(f"no service request {reference}")
    return await run_in_threadpool(queries.service_request, web_of(request).models,
                                   user.principal, reference)


async def request_page(request: Request, user: SessionUser, errors: dict[str, str] | None = None,
                       kept: dict[str, str] | None = None, status_code: int = 200) -> Response:
    reference = request.path_params["ref"]
    found = await _request(request, user, reference)
    number_attachments(found["timeline"])
    said = {e["body"] for e in found["timeline"] if e["kind"] == "message" and e.get("body")}
    for entry in found["timeline"]:
        if entry["kind"] == "opened" and entry.get("body") in said:
            entry["body"] = ""  # the message that opened it follows, with this text
    if request.query_params.get("part") == "timeline":
        return render(request, "portal/timeline.html", sr=found)
    # One rating per resolution: a request reopened and resolved again may be rated again.
    timeline = found["timeline"]
    resolved_at = max((i for i, e in enumerate(timeline) if e["kind"] == "status"
                       and (e.get("data") or {}).get("to") == "resolved"), default=-1)
    found["rated_now"] = any(e["kind"] == "satisfaction" for e in timeline[resolved_at + 1:])
    return render(request, "portal/request.html", status_code=status_code, tab="requests",
                  sr=found, errors=errors or {}, kept=kept or {},
                  client_id=uuid.uuid4().hex)


async def follow_up(request: Request, user: SessionUser) -> Response:
    web = web_of(request)
    reference = request.path_params["ref"]
    await _request(request, user, reference)  # theirs, or 404
    form = await checked_form(request, web.form_limit)
    body = form.get("body", "")
    client_id = str(form.get("client_id", ""))[:64] or uuid.uuid4().hex
    try:
        files = await stored_uploads(form, web.blobs, customer=True)
        text = _form_text(form, "body", BODY_MAX, required=not files)
        # Idempotent by the form's own id: a double click or a resend records once.
        await web.run(RecordInbound(InboundMessage(
            "web", f"portal:{user.principal.email}:{client_id}", user.principal.email,
            text, attachments=files, reference=reference,
            customer_code=user.principal.customer_code)))
    except DomainError as e:
        return await request_page(request, user, {"follow-up": domain_message(request, e)},
                                  {"body": body if isinstance(body, str) else ""}, 400)
    await web.settle()
    flash(request, N_("Sent. We will answer here."))
    return see_other(f"/portal/requests/{reference}")


async def _status(request: Request, user: SessionUser, status: str, done: str) -> Response:
    reference = request.path_params["ref"]
    found = await _request(request, user, reference)
    form = await checked_form(request)
    try:
        if status == "open":
            within_reopen_window(found, web_of(request).reopen_days)
        await web_of(request).run(ChangeStatus(
            reference, status, actor=actor(user), reason=_form_text(form, "reason", 2000)))
    except DomainError as e:
        return await request_page(request, user, {status: domain_message(request, e)},
                                  status_code=422)
    await web_of(request).settle()
    flash(request, done)
    return see_other(f"/portal/requests/{reference}")


def within_reopen_window(found: dict[str, Any], days: int) -> None:
    """Customers reopen a request only within `days` of its last activity (its
    resolution or closing, or anything since); later, a new request is better
    read than an old thread revived.  Staff may reopen at any time."""
    last = parse_moment(found.get("last_activity_at"))
    if last is not None and datetime.now(UTC) - last > timedelta(days=days):
        raise InvalidTransition(
            f"this request was closed more than {days} days ago; open a new request instead")


async def close(request: Request, user: SessionUser) -> Response:
    return await _status(request, user, "closed", N_("The request is closed."))


async def reopen(request: Request, user: SessionUser) -> Response:
    return await _status(request, user, "open", N_("The request is open again."))


async def rate(request: Request, user: SessionUser) -> Response:
    reference = request.path_params["ref"]
    await _request(request, user, reference)
    form = await checked_form(request)
    raw = str(form.get("score", ""))
    try:
        if raw not in ("1", "2", "3", "4", "5"):
            raise invalid("score", N_("Choose from 1 to 5 stars."))
        await web_of(request).run(RateSatisfaction(
            reference, int(raw), _form_text(form, "comment", 2000), actor=actor(user)))
    except DomainError as e:
        return await request_page(request, user, {"rate": domain_message(request, e)},
                                  status_code=422)
    await web_of(request).settle()
    flash(request, N_("Thank you for your rating."))
    return see_other(f"/portal/requests/{reference}")


async def knowledge(request: Request, user: SessionUser) -> Response:
    query = request.query_params.get("q", "").strip()[:200]
    results = await run_in_threadpool(kb_search, web_of(request).models["knowledge"], query,
                                      20, None) if query else []
    return render(request, "portal/kb.html", tab="kb", q=query, results=results)


async def article(request: Request, user: SessionUser) -> Response:
    article_id = request.path_params["article_id"][:64]
    found = await run_in_threadpool(kb_article, web_of(request).models["knowledge"], article_id)
    if found is None or found.get("status", "published") != "published":
        raise NotFound("no such article")
    counts = await run_in_threadpool(kb_feedback, web_of(request).models["knowledge"],
                                     article_id)
    return render(request, "portal/article.html", tab="kb", article=found, feedback=counts)


async def answer_article(request: Request, user: SessionUser) -> Response:
    """"Did this solve it?": one answer per reader and article, which they may change."""
    article_id = request.path_params["article_id"][:64]
    form = await checked_form(request)
    answer = form.get("helped")
    if answer not in ("yes", "no") or not user.principal.customer_code:
        raise NotFound("no such answer")
    await web_of(request).run(AnswerArticle(
        article_id, user.principal.email, user.principal.customer_code, answer == "yes",
        actor=actor(user)))
    await web_of(request).settle()
    flash(request, N_("Thank you: your answer helps us improve the article.")
          if answer == "yes" else N_("Thank you. Still stuck? Open a request."))
    return see_other(f"/portal/kb/{article_id}")


async def products(request: Request, user: SessionUser) -> Response:
    customer = await _customer(request, user)
    return render(request, "portal/products.html", tab="products",
                  products=customer["installed_products"] if customer else [])
