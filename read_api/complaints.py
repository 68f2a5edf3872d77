"""Reads of complaints, reminders and notifications under /api/v1 (staff):
a request's complaint record and reminders, and the caller's own notifications."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from domain import ids
from domain.access import Principal
from domain.errors import NotFound, invalid
from projections import access_log
from projections.access_log import AccessLog
from projections.complaints import complaint_of
from projections.notifications import notifications_for, unread_count
from projections.registry import ReadModels
from projections.reminders import reminders_of

NOTIFICATIONS_MAX_LIMIT = 200


def complaint_query_routes(models: ReadModels, log: AccessLog | None) -> list[Route]:
    from read_api.app import guarded  # read_api.app lists these routes with one line

    def reference_of(request: Request) -> str:
        reference = str(request.path_params["ref"])
        if not ids.REFERENCE_PATTERN.fullmatch(reference):
            raise NotFound(f"no service request {reference!r}")
        return reference

    async def accessed(who: Principal, reference: str) -> None:
        if log is not None:
            await run_in_threadpool(log.record, who.email, "api", access_log.SERVICE_REQUEST,
                                    reference)

    async def complaint(request: Request, who: Principal) -> Any:
        reference = reference_of(request)
        found = await run_in_threadpool(complaint_of, models["complaints"], reference)
        if found is None:
            raise NotFound(f"{reference} has no complaint record")
        await accessed(who, reference)
        return found

    async def reminders(request: Request, who: Principal) -> Any:
        reference = reference_of(request)
        items = await run_in_threadpool(reminders_of, models["reminders"], reference)
        await accessed(who, reference)
        return {"items": items}

    async def notifications(request: Request, who: Principal) -> Any:
        raw = request.query_params.get("limit") or "50"
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= \
                NOTIFICATIONS_MAX_LIMIT:
            raise invalid("limit", f"limit must be 1 to {NOTIFICATIONS_MAX_LIMIT}")
        unread = request.query_params.get("unread", "")
        if unread not in ("", "true", "false"):
            raise invalid("unread", "unread must be true or false")
        unread_only = unread == "true"
        storage = models["notifications"]
        items = await run_in_threadpool(notifications_for, storage, who.email, int(raw),
                                        unread_only)
        return {"items": items, "unread": await run_in_threadpool(unread_count, storage,
                                                                  who.email)}

    return [
        guarded("/service-requests/{ref}/complaint", "read_queues", complaint),
        guarded("/service-requests/{ref}/reminders", "read_queues", reminders),
        guarded("/notifications", "read_notifications", notifications),
    ]
