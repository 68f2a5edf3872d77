"""The request page's forms: reply, note, assign, status, priority, escalate,
log a call.  Each builds the same command the JSON API builds.

Success redirects back to the page (so a reload never posts twice).  A
refusal re-renders the page with the message beside the form and the text
the agent typed kept; a concurrent change (`expected_version`) says so above
the form and shows the request as it now is, the text still there, so the
agent reads what changed and sends again, or not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from channels.web.complaint_pages import WORKFLOW_BUILDERS, WORKFLOW_PERMISSIONS
from channels.web.console import inbox_context, request_context
from channels.web.forms import form_text
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
from channels.web.uploads import stored_uploads
from domain.errors import ConcurrentChange, DomainError, invalid
from domain.quality.commands import EscalateQualityProblem
from domain.requests.commands import (
    AddNote,
    Assign,
    ChangePriority,
    ChangeStatus,
    Escalate,
    LogCall,
    QueueReply,
    Transfer,
    Urge,
)

# (reference, form, actor, attachments stored from the form) -> command
Build = Callable[[str, FormData, str, tuple[dict[str, Any], ...]], object]


def _version(form: FormData) -> int | None:
    raw = str(form.get("expected_version", "")).strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) < 12):
        raise invalid("expected_version", "expected_version must be a whole number")
    return int(raw)


def _text(form: FormData, name: str, limit: int = 100_000) -> str:
    return form_text(form, name, limit, strip=False)  # a reply's text is kept as typed


def _optional(form: FormData, name: str) -> str | None:
    return _text(form, name, 200).strip() or None


def _moment(form: FormData, name: str) -> datetime | None:
    raw = _text(form, name, 40).strip()
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid(name, f"{name} is not a date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


BUILDERS: dict[str, tuple[Build, str]] = {
    # action: (command from (reference, form, actor), what success says)
    "reply": (lambda ref, f, actor, files: QueueReply(
        ref, _text(f, "body"), actor=actor, expected_version=_version(f),
        channel=_optional(f, "channel"), attachments=files), N_("Reply queued for delivery.")),
    "note": (lambda ref, f, actor, files: AddNote(
        ref, _text(f, "body"), actor=actor, expected_version=_version(f), attachments=files),
        N_("Note added.")),
    "assign": (lambda ref, f, actor, _files: Assign(
        ref, _text(f, "agent", 320).strip(), actor=actor, reason=_text(f, "reason", 2000),
        expected_version=_version(f)), N_("Assigned.")),
    "transfer": (lambda ref, f, actor, _files: Transfer(
        ref, _text(f, "to", 320).strip(), _text(f, "reason", 2000), actor=actor,
        expected_version=_version(f)), N_("Transferred.")),
    "urge": (lambda ref, f, actor, _files: Urge(
        ref, _text(f, "message", 2000), actor=actor, expected_version=_version(f)),
        N_("Urged.")),
    "status": (lambda ref, f, actor, _files: ChangeStatus(
        ref, _text(f, "status", 40), actor=actor, reason=_text(f, "reason", 2000),
        expected_version=_version(f)), N_("Status changed.")),
    "priority": (lambda ref, f, actor, _files: ChangePriority(
        ref, _text(f, "priority", 40), actor=actor), N_("Priority changed.")),
    "escalate": (lambda ref, f, actor, _files: _escalation(ref, f, actor), N_("Escalated.")),
    "call": (lambda ref, f, actor, _files: LogCall(
        f"console:{ref}:{_text(f, 'call_token', 64)}", _text(f, "direction", 20),
        _text(f, "number", 64).strip(), _moment(f, "started_at") or datetime.now(UTC),
        actor=actor, agent=actor, notes=_text(f, "notes"), reference=ref,
        ended_at=_moment(f, "ended_at")), N_("Call logged.")),
}



def _escalation(ref: str, f: FormData, actor: str) -> object:
    """An escalation; ticked as a major quality problem, it also raises a quality
    case (origin escalation) for the quality team's queue (issue 15 item 4)."""
    level = int(lv) if (lv := _text(f, "level", 2).strip()).isdigit() else None
    if _text(f, "quality", 10) == "yes":
        return EscalateQualityProblem(
            ref, _text(f, "reason", 2000), _text(f, "product", 200), _text(f, "batch", 400),
            _text(f, "symptom"), actor=actor, serial=_text(f, "serial", 100) or None,
            level=level, due_at=_moment(f, "due_at"))
    return Escalate(ref, _text(f, "reason", 2000), actor=actor, level=level,
                    due_at=_moment(f, "due_at"))


# What a refusal answers, by the domain error's code (else 400).
STATUS_BY_CODE = {"undeliverable": 422, "invalid_state": 422, "too_large": 413}

# The forms that carry files (`attachments`).
WITH_FILES = ("reply", "note")

# Which permission each form needs (domain.access).
PERMISSIONS = {"reply": "reply", "note": "note", "assign": "assign", "transfer": "assign",
               "urge": "urge", "status": "change_status",
               "priority": "change_status", "escalate": "change_status", "call": "log_call"}
# Complaints and reminders (channels.web.complaint_pages).
BUILDERS.update(WORKFLOW_BUILDERS)
PERMISSIONS.update(WORKFLOW_PERMISSIONS)


def request_form_routes() -> list[BaseRoute]:
    return [page(f"/console/requests/{{ref}}/{action}", _endpoint(action), PERMISSIONS[action],
                 methods=("POST",)) for action in BUILDERS]


def _endpoint(action: str) -> Callable[[Request, SessionUser], Any]:
    build, done = BUILDERS[action]

    async def endpoint(request: Request, user: SessionUser) -> Response:
        reference = request.path_params["ref"]
        web = web_of(request)
        form = await checked_form(request, web.form_limit)
        kept = {action: {k: v for k, v in form.items() if isinstance(v, str)}}
        try:
            files = await stored_uploads(form, web.blobs) if action in WITH_FILES else ()
            await web.run(build(reference, form, user.principal.email, files))
        except ConcurrentChange as e:
            return await _again(request, user, reference, kept, {}, domain_message(request, e),
                                409)
        except DomainError as e:
            if e.code in ("not_found",):
                raise
            return await _again(request, user, reference, kept,
                                {action: domain_message(request, e)}, None,
                                STATUS_BY_CODE.get(e.code, 400))
        await web_of(request).settle()
        flash(request, done)
        return see_other(f"/console/requests/{reference}")

    return endpoint


async def _again(request: Request, user: SessionUser, reference: str, kept: dict[str, Any],
                 errors: dict[str, str], conflict: str | None, status: int) -> Response:
    context = await request_context(request, user, reference)
    return render(request, "console/request.html", status_code=status, **context,
                  **(await inbox_context(request, user)), current=reference, kept=kept,
                  errors=errors, conflict=conflict)
