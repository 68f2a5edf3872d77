"""The console's knowledge pages (issue 15 item 9): the list with a status
filter and search, the review queue, an article with its history and
revisions, the draft editor, and "resolve and propose as knowledge" from a
request's page.

Each form builds the command the JSON API builds (channels.web.api_knowledge).
The editor needs no script: it shows the draft's statements, each with a
"remove" box, and a few blank rows to add more; blank rows are dropped.  A
refused form comes back with the message and what was typed.
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
from channels.web.sessions import SessionUser
from domain.aggregates.knowledge import STATUSES
from domain.errors import ConcurrentChange, DomainError, NotFound, invalid
from domain.knowledge.commands import (
    ApproveArticle,
    ArticleFromRequest,
    DraftArticle,
    EditDraft,
    RetireArticle,
    ReviseArticle,
    SendBackArticle,
    SubmitArticle,
)
from domain.knowledge.content import (
    KINDS,
    LANGUAGES,
    MAX_STATEMENT,
    MAX_STATEMENTS,
    STATEMENT_KINDS,
    STATEMENTS_BY_KIND,
)
from domain.requests.commands import ChangeStatus
from projections import knowledge_articles

BLANK_ROWS = 3
STATUS_BY_CODE = {"invalid_state": 422, "conflict": 409, "already_exists": 409,
                  "forbidden": 403}


def knowledge_page_routes() -> list[BaseRoute]:
    item = "/console/kb/{article_id}"
    return [
        page("/console/kb", article_list, "work_queues"),
        page("/console/kb/review", review_queue, "review_knowledge"),
        page("/console/kb/new", new_article, "write_knowledge", methods=("GET", "POST")),
        page(item, article_page, "work_queues"),
        page(f"{item}/edit", edit_article, "write_knowledge", methods=("GET", "POST")),
        *[page(f"{item}/{action}", _action(action), permission, methods=("POST",))
          for action, (_, _, permission) in ACTIONS.items()],
        page("/console/requests/{ref}/knowledge", propose_from_request, "write_knowledge",
             methods=("POST",)),
    ]


def _statuses() -> list[str]:
    return list(STATUSES)


async def article_list(request: Request, user: SessionUser) -> Response:
    status = request.query_params.get("status") or None
    query = request.query_params.get("q", "").strip()[:200]
    if status not in (None, *STATUSES):
        status = None
    return await _list(request, "console/kb_list.html", status, query)


async def review_queue(request: Request, user: SessionUser) -> Response:
    return await _list(request, "console/kb_list.html", "in_review", "", review=True)


async def _list(request: Request, template: str, status: str | None, query: str,
                review: bool = False) -> Response:
    storage = web_of(request).models["knowledge_articles"]
    rows = await run_in_threadpool(knowledge_articles.articles, storage, status, query)
    counts = await run_in_threadpool(knowledge_articles.status_counts, storage)
    return render(request, template, nav="kb", articles=rows, counts=counts, status=status,
                  q=query, statuses=_statuses(), review=review)


async def _found(request: Request, article_id: str) -> dict[str, Any]:
    found = await run_in_threadpool(knowledge_articles.article,
                                    web_of(request).models["knowledge_articles"], article_id)
    if found is None:
        raise NotFound(f"no knowledge article {article_id!r}")
    return found


async def article_page(request: Request, user: SessionUser, errors: dict[str, str] | None = None,
                       kept: dict[str, str] | None = None, status_code: int = 200) -> Response:
    article = await _found(request, request.path_params["article_id"])
    return render(request, "console/kb_article.html", status_code=status_code, nav="kb",
                  article=article, errors=errors or {}, kept=kept or {})


# --- the editor --------------------------------------------------------------------


def _rows(form: FormData) -> list[dict[str, str]]:
    """The statement rows of the editor, without those ticked for removal."""
    count = form_text(form, "rows", 4)
    if not (count.isascii() and count.isdigit()) or int(count) > MAX_STATEMENTS + BLANK_ROWS:
        raise invalid("statements", "the editor's rows are not what this page sent")
    rows = []
    for i in range(int(count)):
        if form.get(f"remove_{i}"):
            continue
        rows.append({"kind": form_text(form, f"kind_{i}", 40),
                     "text": form_text(form, f"text_{i}", MAX_STATEMENT * 2, strip=False)})
    return rows


def _content(form: FormData) -> dict[str, Any]:
    rows = _rows(form)
    return {"title": form_text(form, "title", 400, strip=False),
            "kind": form_text(form, "kind", 40),
            "statements": [r for r in rows if r["text"].strip()],
            "product": form_text(form, "product", 200),
            "tags": [t.strip() for t in form_text(form, "tags", 1000).split(",") if t.strip()],
            "language": form_text(form, "language", 10)}


def _editor(request: Request, article: dict[str, Any] | None, content: dict[str, Any],
            error: str | None = None, status_code: int = 200) -> Response:
    statements = [*content["statements"], *([{"kind": "", "text": ""}] * BLANK_ROWS)]
    return render(request, "console/kb_edit.html", status_code=status_code, nav="kb",
                  article=article, content=content, statements=statements, error=error,
                  kinds=KINDS, languages=LANGUAGES, statement_kinds=STATEMENT_KINDS,
                  by_kind=STATEMENTS_BY_KIND)


async def new_article(request: Request, user: SessionUser) -> Response:
    if request.method == "GET":
        kind = request.query_params.get("kind", "solution")
        return _editor(request, None, {"title": "", "kind": kind if kind in KINDS else "solution",
                                       "statements": [], "product": "", "tags": [],
                                       "language": "zh"})
    form = await checked_form(request)
    content: dict[str, Any] = {}
    try:
        content = _content(form)
        article_id = await web_of(request).run(DraftArticle(
            content["title"], content["kind"], user.principal.email,
            statements=content["statements"], product=content["product"] or None,
            tags=content["tags"], language=content["language"] or "zh"))
    except DomainError as e:
        return _editor(request, None, content or _blank(form), domain_message(request, e),
                       STATUS_BY_CODE.get(e.code, 400))
    await web_of(request).settle()
    flash(request, N_("Draft saved."))
    return see_other(f"/console/kb/{article_id}/edit")


def _blank(form: FormData) -> dict[str, Any]:
    return {"title": str(form.get("title", ""))[:400], "kind": "solution", "statements": [],
            "product": "", "tags": [], "language": "zh"}


async def edit_article(request: Request, user: SessionUser) -> Response:
    article_id = request.path_params["article_id"]
    article = await _found(request, article_id)
    if request.method == "GET":
        return _editor(request, article, article)
    form = await checked_form(request)
    content: dict[str, Any] = dict(article)
    try:
        content = _content(form)
        version = form_text(form, "expected_version", 12)
        await web_of(request).run(EditDraft(
            article_id, user.principal.email, title=content["title"], kind=content["kind"],
            statements=content["statements"], product=content["product"] or None,
            clear_product=not content["product"], tags=content["tags"],
            language=content["language"] or None,
            expected_version=int(version) if version.isascii() and version.isdigit() else None))
    except DomainError as e:
        return _editor(request, article, content, domain_message(request, e),
                       STATUS_BY_CODE.get(e.code, 400))
    await web_of(request).settle()
    flash(request, N_("Draft saved."))
    if form.get("then") == "submit":
        return await _run(request, user, article_id, "submit", form)
    return see_other(f"/console/kb/{article_id}/edit")


# --- the workflow's steps ------------------------------------------------------------

Build = Callable[[str, FormData, str], object]
ACTIONS: dict[str, tuple[Build, str, str]] = {
    # action: (command from (article_id, form, actor), what success says, permission)
    "submit": (lambda a, f, actor: SubmitArticle(a, actor), N_("Submitted for review."),
               "write_knowledge"),
    "approve": (lambda a, f, actor: ApproveArticle(a, actor), N_("Published."),
                "review_knowledge"),
    "send-back": (lambda a, f, actor: SendBackArticle(a, form_text(f, "reason", 2000), actor),
                  N_("Sent back to the author."), "review_knowledge"),
    "revise": (lambda a, f, actor: ReviseArticle(a, actor), N_("A new revision is in draft."),
               "write_knowledge"),
    "retire": (lambda a, f, actor: RetireArticle(a, form_text(f, "reason", 2000), actor),
               N_("Retired."), "review_knowledge"),
}


def _action(action: str) -> Callable[[Request, SessionUser], Any]:
    async def endpoint(request: Request, user: SessionUser) -> Response:
        form = await checked_form(request)
        return await _run(request, user, request.path_params["article_id"], action, form)

    return endpoint


async def _run(request: Request, user: SessionUser, article_id: str, action: str,
               form: FormData) -> Response:
    build, done, _ = ACTIONS[action]
    try:
        await web_of(request).run(build(article_id, form, user.principal.email))
    except DomainError as e:
        if e.code == "not_found":
            raise
        kept = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return await article_page(request, user, {action: domain_message(request, e)},
                                  {action: kept.get("reason", "")},
                                  STATUS_BY_CODE.get(e.code, 400))
    await web_of(request).settle()
    flash(request, done)
    if action == "revise":
        return see_other(f"/console/kb/{article_id}/edit")
    return see_other(f"/console/kb/{article_id}")


async def propose_from_request(request: Request, user: SessionUser) -> Response:
    """The request page's "resolve and propose as knowledge": resolve it (unless it
    is resolved or closed already) with the reason typed, then a draft from it."""
    from channels.web.request_forms import _again  # the request page, re-rendered

    reference = request.path_params["ref"]
    web = web_of(request)
    form = await checked_form(request)
    kept = {"status": {k: v for k, v in form.items() if isinstance(v, str)}}
    try:
        current = await run_in_threadpool(web.app.service_request, reference)
        if current.status not in ("resolved", "closed"):
            version = form_text(form, "expected_version", 12)
            await web.run(ChangeStatus(
                reference, "resolved", actor=user.principal.email,
                reason=form_text(form, "reason", 2000),
                expected_version=int(version) if version.isascii() and version.isdigit()
                else None))
        article_id = await web.run(ArticleFromRequest(reference, user.principal.email))
    except ConcurrentChange as e:
        return await _again(request, user, reference, kept, {}, domain_message(request, e), 409)
    except DomainError as e:
        if e.code == "not_found":
            raise
        return await _again(request, user, reference, kept,
                            {"status": domain_message(request, e)}, None,
                            STATUS_BY_CODE.get(e.code, 400))
    await web.settle()
    flash(request, N_("Resolved. A draft article was made from the request: make it general "
                      "(no names or numbers of the customer), then submit it for review."))
    return see_other(f"/console/kb/{article_id}/edit")
