"""What the request page's field-service panel shows (console/_field_panel.html):
the job, whom it may be dispatched to, the parts issued for it, and which of
the panel's forms this reader may use.  Kept apart from the forms
(channels.web.field_pages) so the request page can include it without
importing them."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from domain.access import Principal
from domain.aggregates.field_job import MODES, SITE_MODES, WARRANTY, WORKSHOP_MODES
from domain.field_service.handlers import teams_of
from domain.users.handlers import all_users
from projections import field_queries

COORDINATOR_ROLES = ("agent", "manager", "admin")


def engineers(web: Any) -> list[dict[str, str]]:
    """Active engineers, for the dispatch form (cached with the staff list)."""
    def load() -> list[dict[str, str]]:
        return [{"email": u.email, "name": u.name} for u in all_users(web.app.store)
                if u.active and "engineer" in u.roles]

    found: list[dict[str, str]] = web.recent_staff.get("engineers", load)
    return found


async def field_context(web: Any, who: Principal, reference: str) -> dict[str, Any]:
    job = await run_in_threadpool(field_queries.field_job, web.models, who, reference)
    held: list[dict[str, Any]] = []
    if job is not None and job["engineer"]:
        held = await run_in_threadpool(field_queries.parts_held_for, web.models,
                                       job["engineer"], reference)
    coordinator = any(role in COORDINATOR_ROLES for role in who.roles)
    mine = job is not None and job["engineer"] == who.email
    if job is not None and str(job["engineer"] or "").startswith("team:"):
        # dispatched to a team: each member may accept or decline it
        mine = job["engineer"] in await run_in_threadpool(teams_of, web.app.store, who.email)
    return {
        "field": job,
        "field_engineers": await run_in_threadpool(engineers, web) if coordinator else [],
        "field_held": held,
        "field_coordinator": coordinator,
        "field_mine": mine,
        "field_modes": MODES, "field_warranty": WARRANTY,
        "field_site": job is not None and job["mode"] in SITE_MODES,
        "field_workshop": job is not None and job["mode"] in WORKSHOP_MODES,
    }
