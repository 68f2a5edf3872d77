"""The console's field-service forms and pages (issue 16): the request page's
panel (intake, dispatch, accept/decline, appointment, visit, unit, service
report with the drawn signature, second visit), an engineer's "my jobs" page
and the spare-parts stock page.  Each form builds the command the JSON API
builds (channels.web.api_field); a refusal re-renders the request page with the
message beside the form and what was typed kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from channels.web.console import inbox_context, request_context
from channels.web.field_context import engineers
from channels.web.forms import form_text
from channels.web.i18n import zone
from channels.web.labels import N_
from channels.web.pages import (
    checked_form,
    domain_message,
    flash,
    formatter_of,
    page,
    render,
    see_other,
    web_of,
)
from channels.web.sessions import SessionUser
from channels.web.signature import MAX_SIGNATURE_BYTES, store_signature
from domain.errors import ConcurrentChange, DomainError, invalid
from domain.field_service.commands import (
    AcceptDispatch,
    BookAppointment,
    DeclineDispatch,
    Dispatch,
    EndVisit,
    FileServiceReport,
    PartUsed,
    ReceiveUnit,
    RecordIntake,
    RepairUnit,
    RequireSecondVisit,
    ResolveByPhone,
    ReturnUnit,
    StartVisit,
)
from domain.field_service.handlers import teams_of
from domain.parts.commands import IssueParts, ReceiveParts, ReturnParts
from projections import field_queries

Build = Callable[[str, FormData, str, str], object]  # (reference, form, actor, zone name)


def _text(form: FormData, name: str, limit: int = 4000) -> str:
    return form_text(form, name, limit)


def _optional(form: FormData, name: str, limit: int = 4000) -> str | None:
    return _text(form, name, limit) or None


def _moment(form: FormData, name: str, zone_name: str) -> str | None:
    """A datetime-local field, in the reader's time zone."""
    raw = _text(form, name, 40)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid(name, N_("Give a date and time.")) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(zone_name))
    return parsed.isoformat()


def _number(form: FormData, name: str) -> float | None:
    raw = _text(form, name, 20)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise invalid(name, N_("Give a number.")) from None


def _whole(form: FormData, name: str, required: bool = True) -> int:
    raw = _text(form, name, 12)
    if not raw and not required:
        return 0
    if not (raw.isascii() and raw.isdigit()):
        raise invalid(name, N_("Give a whole number."))
    return int(raw)


def _flag(form: FormData, name: str) -> bool | None:
    raw = _text(form, name, 5)
    return {"yes": True, "no": False}.get(raw)


def _parts(form: FormData) -> tuple[PartUsed, ...]:
    """One row per part held: its quantity used (0: not used) and faulty serials."""
    skus, warehouses = form.getlist("part_sku"), form.getlist("part_warehouse")
    qtys, serials = form.getlist("part_qty"), form.getlist("part_serials")
    used = []
    for sku, warehouse, qty, faulty in zip(skus, warehouses, qtys, serials, strict=False):
        if not all(isinstance(v, str) for v in (sku, warehouse, qty, faulty)):
            raise invalid("parts", "parts must be text")
        qty_text = str(qty).strip()
        if not qty_text or qty_text == "0":
            continue
        if not (qty_text.isascii() and qty_text.isdigit() and len(qty_text) < 6):
            raise invalid("parts", N_("Give a whole number."))
        found = tuple(s.strip() for s in str(faulty).replace("，", ",").split(",") if s.strip())
        used.append(PartUsed(str(sku), str(warehouse), int(qty_text), found))
    return tuple(used)


BUILDERS: dict[str, tuple[Build, str, str]] = {
    # action: (command builder, permission, what success says)
    "intake": (lambda ref, f, actor, tz: RecordIntake(
        ref, _text(f, "symptom"), _text(f, "warranty", 20), _text(f, "mode", 20), actor=actor,
        level=_optional(f, "level", 40), price_policy=_optional(f, "price_policy"),
        price=_optional(f, "price", 20), price_accepted=_flag(f, "price_accepted"),
        accepted_by=_text(f, "accepted_by", 200)), "dispatch", N_("Intake recorded.")),
    "dispatch": (lambda ref, f, actor, tz: Dispatch(
        ref, _text(f, "engineer", 320), actor=actor,
        appointment_at=_moment(f, "appointment_at", tz),
        distance_km=_number(f, "distance_km")), "dispatch", N_("Dispatched.")),
    "accept": (lambda ref, f, actor, tz: AcceptDispatch(ref, actor=actor), "field_work",
               N_("Dispatch accepted.")),
    "decline": (lambda ref, f, actor, tz: DeclineDispatch(ref, _text(f, "reason"), actor=actor),
                "field_work", N_("Dispatch declined.")),
    "appointment": (lambda ref, f, actor, tz: BookAppointment(
        ref, _moment(f, "appointment_at", tz) or "", actor=actor, note=_text(f, "note")),
        "field_work", N_("Appointment booked.")),
    "visit_start": (lambda ref, f, actor, tz: StartVisit(ref, actor=actor), "field_work",
                    N_("Visit started.")),
    "visit_end": (lambda ref, f, actor, tz: EndVisit(
        ref, actor=actor, distance_km=_number(f, "distance_km")), "field_work",
        N_("Visit ended.")),
    "unit_received": (lambda ref, f, actor, tz: ReceiveUnit(
        ref, actor=actor, tracking_number=_text(f, "tracking_number", 100),
        carrier=_text(f, "carrier", 100)), "field_work", N_("Unit received.")),
    "unit_repaired": (lambda ref, f, actor, tz: RepairUnit(ref, actor=actor), "field_work",
                      N_("Unit repaired.")),
    "unit_returned": (lambda ref, f, actor, tz: ReturnUnit(
        ref, actor=actor, tracking_number=_text(f, "tracking_number", 100),
        carrier=_text(f, "carrier", 100)), "field_work", N_("Unit returned.")),
    "report": (lambda ref, f, actor, tz: FileServiceReport(
        ref, _text(f, "cause"), _text(f, "actions"), _whole(f, "minutes"),
        _text(f, "signed_by"), actor=actor, parts=_parts(f),
        distance_km=_number(f, "distance_km")), "field_work", N_("Service report filed.")),
    "second_visit": (lambda ref, f, actor, tz: RequireSecondVisit(
        ref, _text(f, "reason"), actor=actor), "field_work", N_("Second visit requested.")),
    "phone_resolution": (lambda ref, f, actor, tz: ResolveByPhone(
        ref, _text(f, "summary"), _whole(f, "minutes"), actor=actor), "field_work",
        N_("Phone answer recorded.")),
}

# What a refusal answers, by the domain error's code (else 400).
STATUS_BY_CODE = {"invalid_state": 422, "not_in_stock": 422, "bad_signature": 422,
                  "forbidden": 403, "too_large": 413}


def field_routes() -> list[BaseRoute]:
    return [
        *(page(f"/console/requests/{{ref}}/field/{action}", _endpoint(action), permission,
               methods=("POST",)) for action, (_b, permission, _d) in BUILDERS.items()),
        page("/console/field-jobs", my_jobs, "field_work"),
        page("/console/parts", parts_page, "issue_parts"),
        *(page(f"/console/parts/{action}", _parts_endpoint(action), permission,
               methods=("POST",)) for action, permission in PART_PERMISSIONS.items()),
    ]


def _endpoint(action: str) -> Callable[[Request, SessionUser], Any]:
    build, _permission, done = BUILDERS[action]

    async def endpoint(request: Request, user: SessionUser) -> Response:
        reference = request.path_params["ref"]
        web = web_of(request)
        form = await checked_form(request, web.form_limit)
        key = f"field_{action}"
        kept = {key: {k: v for k, v in form.items() if isinstance(v, str) and k != "signature"}}
        try:
            command = build(reference, form, user.principal.email,
                            formatter_of(request).timezone)
            if isinstance(command, FileServiceReport):
                drawn = form_text(form, "signature", MAX_SIGNATURE_BYTES * 2)
                signature = await run_in_threadpool(store_signature, web.blobs, drawn) \
                    if drawn else None
                command = replace(command, signature=signature)
            await web.run(command)
        except ConcurrentChange as e:
            return await _again(request, user, reference, kept, {key: domain_message(request, e)},
                                409)
        except DomainError as e:
            if e.code == "not_found":
                raise
            return await _again(request, user, reference, kept,
                                {key: domain_message(request, e)},
                                STATUS_BY_CODE.get(e.code, 400))
        await web.settle()
        flash(request, done)
        return see_other(f"/console/requests/{reference}#field")

    return endpoint


async def _again(request: Request, user: SessionUser, reference: str, kept: dict[str, Any],
                 errors: dict[str, str], status: int) -> Response:
    context = await request_context(request, user, reference)
    return render(request, "console/request.html", status_code=status, **context,
                  **(await inbox_context(request, user)), current=reference, kept=kept,
                  errors=errors, conflict=None)


# --- my jobs ------------------------------------------------------------------------


async def my_jobs(request: Request, user: SessionUser) -> Response:
    web = web_of(request)
    email = user.principal.email
    teams = await run_in_threadpool(teams_of, web.app.store, email)
    jobs = await run_in_threadpool(field_queries.jobs_of, web.models, email, teams)
    held = await run_in_threadpool(field_queries.parts_held_by, web.models, email)
    return render(request, "console/field_jobs.html", nav="field", jobs=jobs, held=held)


# --- spare parts ----------------------------------------------------------------------

PART_PERMISSIONS = {"receive": "manage_parts", "issue": "issue_parts", "return": "issue_parts"}
PART_DONE = {"receive": N_("Parts received."), "issue": N_("Parts issued."),
             "return": N_("Parts returned.")}


def _part_command(action: str, form: FormData, actor: str) -> object:
    sku, warehouse = _text(form, "sku", 64), _text(form, "warehouse", 32)
    qty = _whole(form, "qty")
    if action == "receive":
        return ReceiveParts(sku, warehouse, qty, actor=actor)
    if action == "issue":
        return IssueParts(sku, warehouse, _text(form, "engineer", 320), qty,
                          _text(form, "reference", 40), actor=actor)
    return ReturnParts(sku, warehouse, _text(form, "engineer", 320), qty,
                       _text(form, "condition", 20), actor=actor,
                       fault_label=_text(form, "fault_label", 200),
                       reference=_optional(form, "reference", 40))


async def parts_page(request: Request, user: SessionUser, kept: dict[str, Any] | None = None,
                     errors: dict[str, str] | None = None, status: int = 200) -> Response:
    web = web_of(request)
    parts = await run_in_threadpool(field_queries.all_parts, web.models)
    warehouses = sorted({w for p in parts for w in p["stock"]})
    return render(request, "console/parts.html", status_code=status, nav="parts", parts=parts,
                  warehouses=warehouses, engineers=await run_in_threadpool(engineers, web),
                  can_receive=user.principal.may("manage_parts"), kept=kept or {},
                  errors=errors or {})


def _parts_endpoint(action: str) -> Callable[[Request, SessionUser], Any]:
    async def endpoint(request: Request, user: SessionUser) -> Response:
        web = web_of(request)
        form = await checked_form(request)
        try:
            await web.run(_part_command(action, form, user.principal.email))
        except DomainError as e:
            kept = {action: {k: v for k, v in form.items() if isinstance(v, str)}}
            return await parts_page(request, user, kept, {action: domain_message(request, e)},
                                    404 if e.code == "not_found" else
                                    STATUS_BY_CODE.get(e.code, 400))
        await run_in_threadpool(web.models.projector("field_jobs").catch_up, 500, 2)
        flash(request, PART_DONE[action])
        return see_other("/console/parts")

    return endpoint
