"""The console's complaint panel, reminder form and notifications page.

The request page's forms for complaints and reminders join the request forms
(channels.web.request_forms merges WORKFLOW_BUILDERS), so a refusal is shown
beside the form with the text kept, like every other form there.  The panel's
data comes from the complaints and reminders views (workflow_context, called
by channels.web.console.request_context).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from channels.web.forms import form_text
from channels.web.labels import N_
from channels.web.pages import checked_form, flash, page, render, see_other, web_of
from channels.web.sessions import SessionUser
from domain.complaints.commands import (
    ClassifyComplaint,
    CloseComplaint,
    ReviewComplaintResult,
    StartComplaintHandling,
    SubmitComplaintResult,
)
from domain.complaints.policy import LEVELS, TARGETS
from domain.errors import DomainError, invalid
from domain.notifications.commands import MarkNotificationRead
from domain.reminders.commands import CancelReminder, SetReminder
from projections.complaints import complaint_of
from projections.notifications import notifications_for, unread_count
from projections.reminders import reminders_of

DEFAULT_ZONE = "Asia/Shanghai"
Build = Callable[[str, FormData, str, tuple[dict[str, Any], ...]], object]


def _text(form: FormData, name: str, limit: int = 20_000) -> str:
    return form_text(form, name, limit, strip=False)


def _local_moment(form: FormData, name: str) -> datetime:
    """A `datetime-local` field, read in the zone the page said it is in."""
    raw = _text(form, name, 40).strip()
    if not raw:
        raise invalid(name, "choose a date and time")
    try:
        zone = ZoneInfo(_text(form, "zone", 64).strip() or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(DEFAULT_ZONE)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid(name, "that is not a date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _review(form: FormData) -> bool | None:
    value = _text(form, "review", 10).strip()
    return {"yes": True, "no": False}.get(value)


WORKFLOW_BUILDERS: dict[str, tuple[Build, str]] = {
    "complaint": (lambda ref, f, actor, _files: ClassifyComplaint(
        ref, _text(f, "category", 40).strip(), _text(f, "target", 40).strip(),
        _text(f, "level", 40).strip(), actor=actor, review=_review(f)),
        N_("Complaint classified and routed.")),
    "complaint_handle": (lambda ref, f, actor, _files: StartComplaintHandling(ref, actor=actor),
                         N_("Complaint taken into handling.")),
    "complaint_result": (lambda ref, f, actor, _files: SubmitComplaintResult(
        ref, _text(f, "body"), actor=actor), N_("Complaint result recorded.")),
    "complaint_review": (lambda ref, f, actor, _files: ReviewComplaintResult(
        ref, _text(f, "decision", 10) == "approve", actor=actor,
        comment=_text(f, "comment", 2000)), N_("Review recorded.")),
    "complaint_close": (lambda ref, f, actor, _files: CloseComplaint(ref, actor=actor),
                        N_("Complaint closed.")),
    "reminder": (lambda ref, f, actor, _files: SetReminder(
        ref, _local_moment(f, "at"), _text(f, "note", 2000), actor=actor,
        for_user=_text(f, "for", 320).strip() or None), N_("Reminder set.")),
    "reminder_cancel": (lambda ref, f, actor, _files: CancelReminder(
        ref, _text(f, "reminder_id", 64).strip(), actor=actor), N_("Reminder cancelled.")),
}
WORKFLOW_PERMISSIONS = {
    "complaint": "handle_complaints", "complaint_handle": "handle_complaints",
    "complaint_result": "handle_complaints", "complaint_review": "review_complaints",
    "complaint_close": "handle_complaints", "reminder": "set_reminders",
    "reminder_cancel": "set_reminders",
}


async def workflow_context(request: Request, user: SessionUser, reference: str,
                           request_type: str) -> dict[str, Any]:
    """What the request page's complaint panel and reminders need."""
    web = web_of(request)
    complaint = await run_in_threadpool(complaint_of, web.models["complaints"], reference)
    reminders = await run_in_threadpool(reminders_of, web.models["reminders"], reference)
    settings = getattr(web.app.store, "settings", {}).get("complaints")
    categories = tuple(settings.categories) if settings is not None else (
        "quality", "delay", "attitude", "billing", "other")
    return {
        "complaint": complaint, "is_complaint": request_type == "complaint",
        "complaint_categories": categories, "complaint_targets": TARGETS,
        "complaint_levels": LEVELS, "reminders": reminders,
        "can_review": user.principal.may("review_complaints"),
        "zone": (user.account.timezone or DEFAULT_ZONE),
    }


async def unread_badge(request: Request, user: SessionUser) -> int:
    web = web_of(request)
    return await run_in_threadpool(unread_count, web.models["notifications"],
                                   user.principal.email)


async def notifications_page(request: Request, user: SessionUser) -> Response:
    web = web_of(request)
    items = await run_in_threadpool(notifications_for, web.models["notifications"],
                                    user.principal.email, 100)
    return render(request, "console/notifications.html", items=items, nav="notifications",
                  unread=sum(1 for i in items if not i["read_at"]))


async def mark_read(request: Request, user: SessionUser) -> Response:
    web = web_of(request)
    form = await checked_form(request, web.form_limit)
    key = _text(form, "id", 64).strip()
    try:
        await web.run(MarkNotificationRead(key, actor=user.principal.email))
    except DomainError as e:
        flash(request, e.message, "error")
        return see_other("/console/notifications")
    await run_in_threadpool(web.models.projector("notifications").catch_up)
    target = _text(form, "next", 300).strip()
    return see_other(target if target.startswith("/console/requests/SR-") else
                     "/console/notifications")


def notification_routes() -> list[BaseRoute]:
    return [
        page("/console/notifications", notifications_page, "read_notifications"),
        page("/console/notifications/read", mark_read, "read_notifications", methods=("POST",)),
    ]
