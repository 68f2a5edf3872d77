"""The console's return (RMA) and quality-feedback forms and pages.

- On a return's request page: the diagnosis (engineers), the technical
  judgement (technical centre, managers) and the approval (managers); each
  builds the command the JSON API builds, and a refused step is shown beside
  its form with what was typed kept (channels.web.request_forms does the same).
- "Raise a quality problem" on any request page, and `/console/quality`: the
  quality cases, filtered by team queue and status, with the investigation and
  conclusion forms.
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
from channels.web.pages import (
    checked_form,
    domain_message,
    flash,
    page,
    render,
    see_other,
    web_of,
)
from channels.web.request_forms import _again
from channels.web.sessions import SessionUser
from domain.aggregates.quality_case import QUALITY_STATUSES, QUALITY_TEAMS
from domain.errors import ConcurrentChange, DomainError, invalid
from domain.quality.commands import ConcludeQualityCase, RaiseQualityCase, StartInvestigation
from domain.returns.commands import Approve, Diagnose, Judge
from projections import quality

Build = Callable[[str, FormData, str], object]


def _approved(form: FormData) -> bool:
    value = form_text(form, "approved", 10)
    if value not in ("yes", "no"):
        raise invalid("approved", N_("Choose whether to approve."))
    return value == "yes"


# action: (command from (reference, form, actor), permission, what success says)
REQUEST_ACTIONS: dict[str, tuple[Build, str, str]] = {
    "diagnosis": (lambda ref, f, actor: Diagnose(
        ref, form_text(f, "cause", 500), actor=actor, findings=form_text(f, "findings", 10_000)),
        "diagnose_return", N_("Diagnosis filed.")),
    "judgement": (lambda ref, f, actor: Judge(
        ref, form_text(f, "decision", 20), form_text(f, "reason", 2000), actor=actor),
        "judge_return", N_("Judgement recorded.")),
    "approval": (lambda ref, f, actor: Approve(
        ref, _approved(f), actor=actor, comment=form_text(f, "comment", 2000)),
        "approve_return", N_("Approval recorded.")),
    "quality": (lambda ref, f, actor: RaiseQualityCase(
        ref, form_text(f, "origin", 20), form_text(f, "product", 100),
        form_text(f, "batch", 200), form_text(f, "symptom", 10_000), actor=actor,
        serial=form_text(f, "serial", 64) or None),
        "quality", N_("Quality problem sent to the quality and product teams.")),
}


def _request_endpoint(action: str) -> Callable[[Request, SessionUser], Any]:
    build, _permission, done = REQUEST_ACTIONS[action]

    async def endpoint(request: Request, user: SessionUser) -> Response:
        reference = request.path_params["ref"]
        web = web_of(request)
        form = await checked_form(request, web.form_limit)
        kept = {action: {k: v for k, v in form.items() if isinstance(v, str)}}
        try:
            await web.run(build(reference, form, user.principal.email))
        except ConcurrentChange as e:
            return await _again(request, user, reference, kept, {}, domain_message(request, e),
                                409)
        except DomainError as e:
            if e.code == "not_found":
                raise
            status = 403 if e.code == "forbidden" else 422 if e.code == "invalid_state" else 400
            return await _again(request, user, reference, kept,
                                {action: domain_message(request, e)}, None, status)
        await web.settle()
        flash(request, done)
        return see_other(f"/console/requests/{reference}")

    return endpoint


async def quality_page(request: Request, user: SessionUser, error: str | None = None,
                       status_code: int = 200) -> Response:
    web = web_of(request)
    team = request.query_params.get("team", "")
    status = request.query_params.get("status", "")
    if status not in QUALITY_STATUSES:
        status = ""
    if team not in QUALITY_TEAMS:
        team = ""
    cases = await run_in_threadpool(quality.quality_cases, web.models["quality"],
                                    team or None, status or None)
    return render(request, "console/quality.html", status_code=status_code, nav="quality",
                  cases=cases, teams=QUALITY_TEAMS, statuses=QUALITY_STATUSES,
                  params={"team": team, "status": status}, error=error)


def _case_endpoint(action: str) -> Callable[[Request, SessionUser], Any]:
    async def endpoint(request: Request, user: SessionUser) -> Response:
        code = request.path_params["code"]
        web = web_of(request)
        form = await checked_form(request, web.form_limit)
        actor = user.principal.email
        command: object = (
            StartInvestigation(code, actor=actor, note=form_text(form, "note", 10_000))
            if action == "investigation" else
            ConcludeQualityCase(code, form_text(form, "conclusion", 10_000), actor=actor))
        try:
            await web.run(command)
        except DomainError as e:
            if e.code == "not_found":
                raise
            return await quality_page(request, user, f"{code}: {domain_message(request, e)}",
                                      422 if e.code == "invalid_state" else 400)
        await web.settle()
        flash(request, N_("Investigation started.") if action == "investigation"
              else N_("Quality case concluded."))
        return see_other("/console/quality")

    return endpoint


def returns_page_routes() -> list[BaseRoute]:
    return [
        *(page(f"/console/requests/{{ref}}/{action}", _request_endpoint(action), permission,
               methods=("POST",)) for action, (_b, permission, _d) in REQUEST_ACTIONS.items()),
        page("/console/quality", quality_page, "work_queues"),
        page("/console/quality/{code}/investigation", _case_endpoint("investigation"),
             "quality", methods=("POST",)),
        page("/console/quality/{code}/conclusion", _case_endpoint("conclusion"), "quality",
             methods=("POST",)),
    ]
