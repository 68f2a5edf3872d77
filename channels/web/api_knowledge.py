"""Knowledge authoring over /api/v1 (issue 15 item 9): drafts, review, revisions.

    POST /kb/drafts                        write a new draft           (staff)
    POST /kb/articles/{id}/draft           change the draft            (staff)
    POST /kb/articles/{id}/submit          submit it for review        (staff)
    POST /kb/articles/{id}/approve         publish the revision        (managers, admins)
    POST /kb/articles/{id}/send-back       reject it to draft, why     (managers, admins)
    POST /kb/articles/{id}/revise          start the next revision     (staff)
    POST /kb/articles/{id}/retire          retire it, why              (managers, admins)
    POST /service-requests/{ref}/knowledge a draft from the request    (staff)

The reads (GET /kb/articles, /kb/articles/{id}) are read_api's.  Commands
sit on paths of their own, beside those reads rather than on them, so a wrong
method on any path is answered with the one route's Allow.  A statement is read
exactly as the OpenAPI document states it (an object of `kind` and `text`, no
other field); which statement kinds an article kind takes is the domain's.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.web.json_input import expected_version, optional_choice, text, text_list
from domain.access import Principal
from domain.application import Ledgerdesk
from domain.errors import invalid
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

Body = dict[str, Any]
CONTENT = ("title", "kind", "statements", "product", "tags", "language")


def knowledge_routes(app: Ledgerdesk) -> list[Route]:
    # channels.web.api includes these routes: its CommandRoute is imported when
    # they are built rather than when this module loads (no import cycle).
    from channels.web.api import CommandRoute

    k = KnowledgeCommands(app)
    item = "/kb/articles/{article_id}"
    return [
        CommandRoute("/kb/drafts", "POST", "write_knowledge", k.draft, (*CONTENT, "article_id")),
        CommandRoute(f"{item}/draft", "POST", "write_knowledge", k.edit,
                     (*CONTENT, "expected_version")),
        CommandRoute(f"{item}/submit", "POST", "write_knowledge", k.submit,
                     ("expected_version",)),
        CommandRoute(f"{item}/approve", "POST", "review_knowledge", k.approve,
                     ("expected_version",)),
        CommandRoute(f"{item}/send-back", "POST", "review_knowledge", k.send_back,
                     ("reason", "expected_version")),
        CommandRoute(f"{item}/revise", "POST", "write_knowledge", k.revise,
                     (*CONTENT, "expected_version")),
        CommandRoute(f"{item}/retire", "POST", "review_knowledge", k.retire,
                     ("reason", "expected_version")),
        CommandRoute("/service-requests/{ref}/knowledge", "POST", "write_knowledge",
                     k.from_request, ("title", "kind")),
    ]


def statement_list(body: Body, field: str = "statements") -> list[dict[str, str]] | None:
    """Statements as the schema has them; absent or null: not given."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, list):
        raise invalid(field, f"{field} must be a list of statements")
    found = []
    for number, item in enumerate(value, 1):
        if not (isinstance(item, dict) and set(item) == {"kind", "text"}
                and isinstance(item["kind"], str) and isinstance(item["text"], str)):
            raise invalid(field, f"statement {number} must be an object of a kind and a text")
        found.append({"kind": item["kind"], "text": item["text"]})
    return found


def optional_list(body: Body, field: str) -> list[str] | None:
    return None if body.get(field) is None else text_list(body, field)


def _content(body: Body) -> dict[str, Any]:
    """The content fields given (a change names only what it changes); a null
    or empty product clears it."""
    changes: dict[str, Any] = {
        "title": optional_choice(body, "title"), "kind": optional_choice(body, "kind"),
        "statements": statement_list(body), "tags": optional_list(body, "tags"),
        "language": optional_choice(body, "language"),
    }
    if "product" in body:
        product = body["product"]
        if product is not None and not isinstance(product, str):
            raise invalid("product", "product must be a string")
        changes["product"] = product or None
        changes["clear_product"] = not product
    return changes


def _article_id(request: Request) -> str:
    return str(request.path_params["article_id"])


class KnowledgeCommands:
    def __init__(self, app: Ledgerdesk) -> None:
        self.app = app

    async def _handle(self, command: object) -> Any:
        return await run_in_threadpool(self.app.handle, command)

    async def draft(self, request: Request, who: Principal, body: Body) -> Response:
        content = _content(body)
        article_id = await self._handle(DraftArticle(
            text(body, "title"), text(body, "kind"), actor=who.email,
            statements=content["statements"] or (), article_id=optional_choice(body, "article_id"),
            product=content.get("product"), tags=content["tags"] or (),
            language=content["language"] or "zh",
        ))
        return JSONResponse({"article_id": article_id, "status": "draft"}, status_code=201)

    async def edit(self, request: Request, who: Principal, body: Body) -> Response:
        changed = await self._handle(EditDraft(
            _article_id(request), who.email, expected_version=expected_version(body),
            **_content(body)))
        return JSONResponse({"article_id": _article_id(request), "changed": changed})

    async def submit(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(SubmitArticle(_article_id(request), who.email,
                                         expected_version=expected_version(body)))
        return JSONResponse({"article_id": _article_id(request), "status": "in_review"})

    async def approve(self, request: Request, who: Principal, body: Body) -> Response:
        revision = await self._handle(ApproveArticle(_article_id(request), who.email,
                                                     expected_version=expected_version(body)))
        return JSONResponse({"article_id": _article_id(request), "status": "published",
                             "revision": revision})

    async def send_back(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(SendBackArticle(_article_id(request), text(body, "reason"),
                                           who.email, expected_version=expected_version(body)))
        return JSONResponse({"article_id": _article_id(request), "status": "draft"})

    async def revise(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(ReviseArticle(_article_id(request), who.email,
                                         expected_version=expected_version(body),
                                         **_content(body)))
        return JSONResponse({"article_id": _article_id(request), "status": "draft"})

    async def retire(self, request: Request, who: Principal, body: Body) -> Response:
        await self._handle(RetireArticle(_article_id(request), text(body, "reason"),
                                         who.email, expected_version=expected_version(body)))
        return JSONResponse({"article_id": _article_id(request), "status": "retired"})

    async def from_request(self, request: Request, who: Principal, body: Body) -> Response:
        article_id = await self._handle(ArticleFromRequest(
            request.path_params["ref"], who.email, title=optional_choice(body, "title"),
            kind=text(body, "kind", "case")))
        return JSONResponse({"article_id": article_id, "status": "draft"}, status_code=201)
