"""Team management for admins (/console/teams): the teams with their members
and open queue, creating a team, adding and removing members.

The same commands as POST /api/v1/teams...; teams are read from their
aggregates (domain.teams.handlers.all_teams), so a change shows on the very
next page, and the queue counts from the inbox view.  A refusal re-renders the
page with the message beside the form it came from, what was typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from channels.web.forms import form_text
from channels.web.labels import N_
from channels.web.pages import checked_form, domain_message, flash, page, render, see_other, web_of
from channels.web.sessions import SessionUser
from domain.errors import DomainError
from domain.teams.commands import AddTeamMember, CreateTeam, RemoveTeamMember
from domain.teams.handlers import all_teams
from domain.users.handlers import all_users
from domain.vocabulary import STAFF_ROLES
from projections.console_queries import team_counts

TEAMS = "/console/teams"
STATUS_BY_CODE = {"invalid": 400, "already_exists": 409, "conflict": 409, "not_found": 404}

Build = Callable[[str, FormData, str], object]

# action: (command from (team code, form, actor), what success says)
BUILDERS: dict[str, tuple[Build, str]] = {
    "members": (lambda code, f, actor: AddTeamMember(code, form_text(f, "email", 320),
                                                     actor=actor), N_("Member added.")),
    "members/remove": (lambda code, f, actor: RemoveTeamMember(
        code, form_text(f, "email", 320), actor=actor), N_("Member removed.")),
}


def team_routes() -> list[BaseRoute]:
    return [
        page(TEAMS, teams_page, "manage_teams"),
        page(f"{TEAMS}/create", create_team, "manage_teams", methods=("POST",)),
        *(page(f"{TEAMS}/{{code}}/{action}", _endpoint(action), "manage_teams",
               methods=("POST",)) for action in BUILDERS),
    ]


def _teams(web: Any) -> dict[str, Any]:
    users = {u.email: u for u in all_users(web.app.store)}
    counts = team_counts(web.models)
    staff = [{"email": u.email, "name": u.name} for u in users.values()
             if u.active and any(r in STAFF_ROLES for r in u.roles)]
    teams = []
    for team in all_teams(web.app.store):
        members = [{"email": m, "name": users[m].name if m in users else "",
                    "active": m in users and users[m].active} for m in team.members]
        teams.append({"code": team.code, "name": team.name, "members": members,
                      "open": counts.get(team.code, {}).get("open", 0),
                      "unassigned": counts.get(team.code, {}).get("unassigned", 0),
                      "candidates": [s for s in staff if s["email"] not in team.members]})
    return {"teams": teams}


async def render_teams(request: Request, status: int = 200, *,
                       errors: dict[str, str] | None = None,
                       kept: dict[str, dict[str, str]] | None = None) -> Response:
    context = await run_in_threadpool(_teams, web_of(request))
    return render(request, "console/teams.html", status_code=status, nav="teams",
                  errors=errors or {}, kept=kept or {}, **context)


async def teams_page(request: Request, user: SessionUser) -> Response:
    return await render_teams(request)


def _kept(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


async def create_team(request: Request, user: SessionUser) -> Response:
    form = await checked_form(request)
    try:
        await web_of(request).run(CreateTeam(form_text(form, "code", 64),
                                             form_text(form, "name", 200),
                                             actor=user.principal.email))
    except DomainError as e:
        return await render_teams(request, STATUS_BY_CODE.get(e.code, 422),
                                  errors={"create": domain_message(request, e)},
                                  kept={"create": _kept(form)})
    flash(request, N_("Team created."))
    return see_other(TEAMS)


def _endpoint(action: str) -> Callable[[Request, SessionUser], Any]:
    build, done = BUILDERS[action]

    async def endpoint(request: Request, user: SessionUser) -> Response:
        code = request.path_params["code"]
        form = await checked_form(request)
        try:
            await web_of(request).run(build(code, form, user.principal.email))
        except DomainError as e:
            # A refused form is shown beside its team, even an unknown team's 404.
            return await render_teams(request, STATUS_BY_CODE.get(e.code, 422),
                                      errors={f"{action}:{code}": domain_message(request, e)},
                                      kept={f"{action}:{code}": _kept(form)})
        await web_of(request).settle()
        flash(request, done)
        return see_other(f"{TEAMS}#team-{code}")

    return endpoint
