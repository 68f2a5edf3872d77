"""JSON commands of complaints (投诉), reminders (预约提示) and staff notifications.

Mounted by channels.web.api.command_routes; the OpenAPI paths are in
read_api.openapi_complaints, and the reads (a request's complaint and
reminders, my notifications) in read_api.complaints.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.web.json_input import moment, optional_text, text
from domain.access import Principal
from domain.application import Ledgerdesk
from domain.complaints.commands import (
    ClassifyComplaint,
    CloseComplaint,
    ReviewComplaintResult,
    StartComplaintHandling,
    SubmitComplaintResult,
)
from domain.errors import invalid
from domain.notifications.commands import MarkNotificationRead
from domain.reminders.commands import CancelReminder, SetReminder

Body = dict[str, Any]


def complaint_routes(app: Ledgerdesk) -> list[Route]:
    # Imported here: channels.web.api imports this module for its one line.
    from channels.web.api import CommandRoute

    async def handle(command: object) -> Any:
        return await run_in_threadpool(app.handle, command)

    def ref(request: Request) -> str:
        return str(request.path_params["ref"])

    def flag(body: Body, field: str, default: bool | None = None) -> bool | None:
        value = body.get(field, default)
        if value is not None and not isinstance(value, bool):
            raise invalid(field, f"{field} must be true or false")
        return value

    async def classify(request: Request, who: Principal, body: Body) -> Response:
        await handle(ClassifyComplaint(ref(request), text(body, "category"),
                                       text(body, "target"), text(body, "level"),
                                       actor=who.email, review=flag(body, "review")))
        return JSONResponse({"state": "classified"})

    async def start(request: Request, who: Principal, body: Body) -> Response:
        await handle(StartComplaintHandling(ref(request), actor=who.email))
        return JSONResponse({"state": "in_handling"})

    async def result(request: Request, who: Principal, body: Body) -> Response:
        state = await handle(SubmitComplaintResult(ref(request), text(body, "body"),
                                                   actor=who.email))
        return JSONResponse({"state": state})

    async def review(request: Request, who: Principal, body: Body) -> Response:
        approved = flag(body, "approved")
        if approved is None:
            raise invalid("approved", "say whether the result is approved")
        state = await handle(ReviewComplaintResult(ref(request), approved, actor=who.email,
                                                   comment=text(body, "comment", "")))
        return JSONResponse({"state": state})

    async def close(request: Request, who: Principal, body: Body) -> Response:
        await handle(CloseComplaint(ref(request), actor=who.email))
        return JSONResponse({"state": "closed"})

    async def set_reminder(request: Request, who: Principal, body: Body) -> Response:
        reminder_id = await handle(SetReminder(ref(request), moment(body, "at"),
                                               text(body, "note"), actor=who.email,
                                               for_user=optional_text(body, "for")))
        return JSONResponse({"id": reminder_id}, status_code=201)

    async def cancel_reminder(request: Request, who: Principal, body: Body) -> Response:
        await handle(CancelReminder(ref(request), str(request.path_params["id"]),
                                    actor=who.email))
        return JSONResponse({})

    async def read(request: Request, who: Principal, body: Body) -> Response:
        await handle(MarkNotificationRead(str(request.path_params["id"]), actor=who.email))
        return JSONResponse({})

    base = "/service-requests/{ref}"
    return [
        CommandRoute(f"{base}/complaint", "POST", "handle_complaints", classify,
                     ("category", "target", "level", "review")),
        CommandRoute(f"{base}/complaint/handle", "POST", "handle_complaints", start, ()),
        CommandRoute(f"{base}/complaint/result", "POST", "handle_complaints", result, ("body",)),
        CommandRoute(f"{base}/complaint/review", "POST", "review_complaints", review,
                     ("approved", "comment")),
        CommandRoute(f"{base}/complaint/close", "POST", "handle_complaints", close, ()),
        CommandRoute(f"{base}/reminders", "POST", "set_reminders", set_reminder,
                     ("at", "for", "note")),
        CommandRoute(f"{base}/reminders/{{id}}/cancel", "POST", "set_reminders",
                     cancel_reminder, ()),
        CommandRoute("/notifications/{id}/read", "POST", "read_notifications", read, ()),
    ]
