"""The public answer page of a satisfaction survey: `/survey/{token}`.

The survey mail (policies.survey) carries one link per score, each a signed
token (domain.survey_links) naming the request, the resolution asked about
and the score.  Opening a link records nothing (mail scanners open links): it
shows the chosen score, lets the customer change it, and offers a comment box;
posting the form records RateSatisfaction as the customer the survey went to.
The domain refuses a second rating for the same resolution, or one for a
resolution since reopened, and that refusal is shown.  A tampered or foreign
token is a 400 that says the link cannot be used.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from channels.web.csrf import check_csrf
from channels.web.forms import form_text
from channels.web.labels import N_
from channels.web.pages import (
    domain_message,
    error_page,
    remember_language,
    render,
    web_of,
)
from domain.errors import DomainError, PermissionDenied
from domain.requests.commands import RateSatisfaction
from domain.survey_links import read_token

SCORES = (5, 4, 3, 2, 1)
# Msgids for `fmt.gettext("score:" ~ n)` on the page.
LABELS = (N_("score:1"), N_("score:2"), N_("score:3"), N_("score:4"), N_("score:5"))


async def survey(request: Request) -> Response:
    web = web_of(request)
    await remember_language(request, web)
    answer = read_token(web.secret_key, request.path_params["token"])
    if answer is None or not answer.customer:
        return render(request, "survey.html", status_code=400, invalid=True)
    context: dict[str, Any] = {"reference": answer.reference, "score": answer.score,
                               "scores": SCORES}
    if request.method == "GET":
        return render(request, "survey.html", **context)
    form = await request.form()
    try:
        check_csrf(request, form)
    except PermissionDenied as e:
        return error_page(request, 403, e.message)
    raw = str(form.get("score", answer.score))
    score = int(raw) if raw in ("1", "2", "3", "4", "5") else answer.score
    try:
        await web.run(RateSatisfaction(
            answer.reference, score, form_text(form, "comment", 2000),
            actor=f"customer:{answer.customer}", resolution=answer.resolution))
    except DomainError as e:
        return render(request, "survey.html", status_code=409, **context,
                      error=domain_message(request, e))
    context["score"] = score
    return render(request, "survey.html", **context, done=True)


def survey_routes() -> list[BaseRoute]:
    return [Route("/survey/{token}", survey, methods=["GET", "POST"])]
