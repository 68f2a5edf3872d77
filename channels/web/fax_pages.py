"""The console's fax verification queue: each fax OCR could not place with
confidence, its page images beside the text read from them, and a form to
correct the fields read (reference, customer code, callback phone, serial,
sender's number) and confirm.

The form builds the same `CorrectFax` command any other caller would, with
every field as it stands in the form, so a field the agent emptied is cleared
(a misread reference removed); the domain decides where a confirmed fax goes
(domain.requests.fax).  The page is
built from the read models only: the inbox says which requests hold an
unverified fax (`fax_unverified`), and their timelines hold the fax entries,
the corrections made since and the confirmations, so a fax's fields as shown
are those it arrived with updated by every correction after it.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from channels.web.attachments import number_attachments
from channels.web.console import QUEUE_PAGES, QUEUES
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
from channels.web.sessions import SessionUser
from domain import ids
from domain.errors import DomainError, NotFound, invalid
from domain.requests.commands import CorrectFax
from domain.requests.fax import FAX_FIELDS
from domain.vocabulary import CHANNELS
from projections import access_log, console_queries, queries

QUEUE = "fax_verification"
PAGE_SIZE = 20  # each fax shows its page images: fewer than the inbox's rows
# The page images a browser shows; the download route checks the bytes too.
SHOWN_IMAGES = ("image/png", "image/jpeg")
# A form value is read up to this length; the domain says what it accepts.
FORM_FIELD_LIMIT = 1000
# What a refusal answers, by the domain error's code (else 400).  A reference
# or customer typed into the form that does not exist is the agent's input
# refused, not a missing page: 422.
STATUS_BY_CODE = {"not_found": 422, "invalid_state": 409, "conflict": 409, "gone": 409}


def fax_routes() -> list[BaseRoute]:
    return [page("/console/faxes", fax_queue, "work_queues"),
            page("/console/faxes/{ref}/verify", verify, "work_queues", methods=("POST",))]


def waiting_faxes(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The faxes of one request's timeline still to be verified, oldest first,
    each with its fields as corrected so far and its pages (text, confidence and
    image).  The timeline's attachments must be numbered (number_attachments)."""
    verified: set[str] = set()
    corrected: dict[str, dict[str, str]] = {}
    for entry in timeline:
        data = _data(entry)
        external_id = str(data.get("external_id") or "")
        if entry["kind"] == "fax_verified":
            verified.add(external_id)
        elif entry["kind"] == "fax_correction" and isinstance(data.get("corrections"), dict):
            corrected.setdefault(external_id, {}).update(data["corrections"])
    waiting = []
    for entry in timeline:
        data = _data(entry)
        external_id = str(data.get("external_id") or "")
        if entry["kind"] != "fax" or not data.get("needs_verification") \
                or external_id in verified:
            continue
        fields = {**(data.get("extracted") or {}), **corrected.get(external_id, {})}
        attachments = [a for a in entry.get("attachments") or [] if isinstance(a, dict)]
        waiting.append({
            "external_id": external_id, "at": entry["at"], "sender": data.get("sender") or "",
            "confidence": data.get("confidence"), "reasons": data.get("verification_reasons")
            or [], "fields": {name: str(fields.get(name) or "") for name in FAX_FIELDS},
            "original": attachments[0] if attachments else None,
            "pages": _pages(entry, data, attachments),
        })
    return waiting


def _data(entry: dict[str, Any]) -> dict[str, Any]:
    data = entry.get("data")
    return data if isinstance(data, dict) else {}


def _pages(entry: dict[str, Any], data: dict[str, Any], attachments: list[dict[str, Any]]
           ) -> list[dict[str, Any]]:
    """Each page's text and confidence beside its image: the PNG preview made
    for it, or (a fax sent as a PNG or JPEG, without previews) the file itself."""
    texts = list(data.get("page_texts") or ([entry["body"]] if entry.get("body") else []))
    confidences = list(data.get("page_confidences") or [])
    previews = attachments[1:]
    if not previews and attachments and _shown(attachments[0]):
        previews = attachments[:1]
    pages = []
    for index in range(max(len(texts), len(previews))):
        image = previews[index] if index < len(previews) else None
        pages.append({"number": index + 1,
                      "text": texts[index] if index < len(texts) else "",
                      "confidence": confidences[index] if index < len(confidences) else None,
                      "image": image if image is not None and _shown(image) else None})
    return pages


def _shown(attachment: dict[str, Any]) -> bool:
    return attachment.get("content_type") in SHOWN_IMAGES and bool(attachment.get("number"))


async def _queue_context(request: Request, user: SessionUser, focus: str | None = None
                         ) -> dict[str, Any]:
    """The queue's page of requests; `focus`: a request to show even when it is
    on another page of the queue (the one whose form was refused)."""
    web = web_of(request)
    params = {"queue": QUEUE, "limit": str(PAGE_SIZE)}
    cursor = request.query_params.get("cursor", "")
    if cursor and focus is None:
        params["cursor"] = cursor
    problem = None
    try:
        found = await run_in_threadpool(console_queries.inbox_page, web.models, user.principal,
                                        params)
    except DomainError as e:  # a hand-edited cursor: say so, show the first page
        found, problem = {"items": [], "next_cursor": None}, domain_message(request, e)
    rows = list(found["items"])
    if focus is not None and all(row["reference"] != focus for row in rows):
        rows.insert(0, {"reference": focus, "customer_name": ""})
    items = []
    for row in rows:
        try:
            sr = await run_in_threadpool(queries.service_request, web.models, user.principal,
                                         row["reference"])
        except NotFound:  # closed or moved between the two reads
            continue
        number_attachments(sr["timeline"])
        faxes = waiting_faxes(sr["timeline"])
        if not faxes:
            continue
        await web.accessed(user.principal, access_log.SERVICE_REQUEST, sr["reference"],
                           {"page": "faxes"})
        items.append({"sr": sr, "customer_name": row.get("customer_name") or "",
                      "faxes": faxes})
    counts = await run_in_threadpool(
        web.recent_counts.get, user.principal.email,
        lambda: console_queries.queue_counts(web.models, user.principal))
    return {"items": items, "next_cursor": found["next_cursor"], "counts": counts,
            "queues": QUEUES, "queue_pages": QUEUE_PAGES, "channels": CHANNELS,
            "params": {"queue": QUEUE}, "fields": FAX_FIELDS, "problem": problem, "nav": "inbox"}


async def fax_queue(request: Request, user: SessionUser) -> Response:
    context = await _queue_context(request, user)
    return render(request, "console/faxes.html", **context, kept={}, errors={})


def _field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise invalid(name, f"{name} must be text")
    if len(value) > FORM_FIELD_LIMIT:
        raise invalid(name, f"{name} is longer than {FORM_FIELD_LIMIT} characters")
    return value.strip()


async def verify(request: Request, user: SessionUser) -> Response:
    """Save the corrections, and with `confirm` file the fax where they place it."""
    reference = request.path_params["ref"]
    web = web_of(request)
    if not ids.REFERENCE_PATTERN.fullmatch(reference):
        raise NotFound(f"no service request {reference}")
    # An unknown (or, to this reader, invisible) request is a 404 before anything
    # typed into the form is looked at.
    await run_in_threadpool(queries.service_request, web.models, user.principal, reference)
    form = await checked_form(request)
    external_id = form.get("external_id", "")
    external_id = external_id if isinstance(external_id, str) else ""
    confirm = form.get("confirm") == "1"
    kept = {external_id: {k: v for k, v in form.items() if isinstance(v, str)}}
    try:
        corrections = {name: _field(form, name) for name in FAX_FIELDS}
        await web.run(CorrectFax(reference, _field(form, "external_id"), corrections,
                                 actor=user.principal.email, confirm=confirm))
    except DomainError as e:
        context = await _queue_context(request, user, focus=reference)
        return render(request, "console/faxes.html",
                      status_code=STATUS_BY_CODE.get(e.code, 400), **context, kept=kept,
                      errors={external_id: domain_message(request, e)})
    await web.settle()
    flash(request, N_("Fax verified and filed.") if confirm else N_("Corrections saved."))
    return see_other("/console/faxes")

