"""Knowledge articles over /api/v1: the whole article, and lists by status.

GET /kb/articles/{id} is for anyone who may read knowledge: staff and auditors
get the whole article (status, the draft, every published revision, history);
customers and partners (with the knowledge module) only the published
revision, and a draft or a retired article is 404 to them, like an unknown one.
GET /kb/articles lists by status, for staff and auditors.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from domain import access
from domain.access import Principal
from domain.aggregates.knowledge import ARTICLE_ID_PATTERN, STATUSES
from domain.errors import NotFound, invalid
from projections import knowledge_articles
from projections.customers import granted_modules
from projections.registry import ReadModels

LIST_MAX_LIMIT = 200
LIST_QUERY_MAX_LENGTH = 200


def knowledge_query_routes(models: ReadModels) -> list[Route]:
    # read_api.app includes these routes: its `guarded` and helpers are imported
    # when they are built rather than when this module loads (no import cycle).
    from read_api.app import guarded

    q = KnowledgeQueries(models)
    return [guarded("/kb/articles", "read_queues", q.articles),
            guarded("/kb/articles/{article_id}", "read_own", q.article)]


class KnowledgeQueries:
    def __init__(self, models: ReadModels) -> None:
        self.models = models

    async def articles(self, request: Request, who: Principal) -> Any:
        from read_api.app import check_storable, checked_limit

        params = request.query_params
        status = params.get("status") or None
        if status is not None and status not in STATUSES:
            raise invalid("status", f"status must be one of {', '.join(STATUSES)}")
        query = params.get("q", "")
        check_storable("q", query)
        if len(query) > LIST_QUERY_MAX_LENGTH:
            raise invalid("q", f"q is longer than {LIST_QUERY_MAX_LENGTH} characters")
        limit = checked_limit(params.get("limit"), LIST_MAX_LIMIT) or 100
        items = await run_in_threadpool(knowledge_articles.articles,
                                        self.models["knowledge_articles"], status, query, limit)
        return {"items": items}

    async def article(self, request: Request, who: Principal) -> Any:
        article_id = request.path_params["article_id"]
        if not ARTICLE_ID_PATTERN.fullmatch(article_id):
            raise NotFound(f"no knowledge article {article_id!r}")
        if who.is_partner:
            granted = await run_in_threadpool(granted_modules, self.models["customers"],
                                              who.customer_code or "")
            access.require_module(who, granted, "knowledge")
        found = await run_in_threadpool(knowledge_articles.article,
                                        self.models["knowledge_articles"], article_id)
        if found is None:
            raise NotFound(f"no knowledge article {article_id!r}")
        if who.is_customer_side:
            if found["published"] is None:
                raise NotFound(f"no knowledge article {article_id!r}")
            return knowledge_articles.public_article(found)
        return found
