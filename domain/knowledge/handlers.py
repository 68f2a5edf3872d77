"""Handlers of the knowledge context.

请求的知识化 (turning a resolved request into knowledge) reads the request's own
event stream: the resolution and the customer's messages live only in events,
not in the aggregate's state.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.aggregates.article_feedback import ArticleFeedback
from domain.aggregates.knowledge import KnowledgeArticle
from domain.commands import Handlers
from domain.errors import InvalidTransition
from domain.knowledge.commands import (
    AnswerArticle,
    ArticleFromRequest,
    PublishArticle,
    RetireArticle,
    ReviseArticle,
)
from domain.knowledge.statements import guess_language, request_statements
from domain.requests.lookup import load_request
from domain.store import Pending, Store

handlers = Handlers()


def find_article(store: Store, article_id: str) -> KnowledgeArticle | None:
    return store.get(KnowledgeArticle, KnowledgeArticle.create_id(article_id))


def load_article(store: Store, article_id: str) -> KnowledgeArticle:
    return store.load(KnowledgeArticle, KnowledgeArticle.create_id(article_id),
                      f"no knowledge article {article_id!r}")


def _tag_list(tags: Iterable[str]) -> list[str]:
    """A list survives a retry (an iterator would not), and a lone string is one tag."""
    return [tags] if isinstance(tags, str) else list(tags)


@handlers(PublishArticle)
def publish_article(store: Store, c: PublishArticle) -> str:
    tags = _tag_list(c.tags)

    def attempt() -> str:
        # Built afresh each time: a failed save has already taken the pending events.
        article = KnowledgeArticle.publish(
            article_id=c.article_id, title=c.title, body=c.body, kind=c.kind, actor=c.actor,
            product=c.product, tags=tags, language=c.language,
            source_reference=c.source_reference,
        )
        # The id is derived from article_id, so a second article with the same id
        # conflicts on version 1 inside the store's own write.
        store.create(Pending([article]), f"article {article.article_id} exists already")
        return article.article_id

    return store.retrying(attempt)


@handlers(ReviseArticle)
def revise_article(store: Store, c: ReviseArticle) -> None:
    tags = None if c.tags is None else _tag_list(c.tags)
    store.change(lambda: load_article(store, c.article_id),
                 lambda a: a.revise(actor=c.actor, title=c.title, body=c.body, tags=tags))


@handlers(RetireArticle)
def retire_article(store: Store, c: RetireArticle) -> None:
    store.change(lambda: load_article(store, c.article_id),
                 lambda a: a.retire(reason=c.reason, actor=c.actor))


@handlers(ArticleFromRequest)
def article_from_request(store: Store, c: ArticleFromRequest) -> str:
    """Only a finished request has a resolution to learn from."""
    request = load_request(store, c.reference)
    if request.status not in ("resolved", "closed"):
        raise InvalidTransition(
            f"{c.reference} is {request.status}; only a resolved or closed request "
            "can become an article"
        )
    body = request_statements(request, store.events(request.id))
    return publish_article(store, PublishArticle(
        article_id=c.article_id, title=c.title, body=body, kind=c.kind, actor=c.actor,
        product=request.product, tags=[request.request_type],
        language=guess_language(body), source_reference=c.reference,
    ))


@handlers(AnswerArticle)
def answer_article(store: Store, c: AnswerArticle) -> bool:
    """Record the answer; False when it is the one this reader already gave."""
    article = load_article(store, c.article_id)
    if article.status != "published":
        raise InvalidTransition(f"article {c.article_id} is not published")
    feedback_id = ArticleFeedback.create_id(c.article_id, c.reader)

    def attempt() -> bool:
        feedback = store.get(ArticleFeedback, feedback_id)
        if feedback is None:
            feedback = ArticleFeedback(article_id=c.article_id, reader=c.reader,
                                       customer_code=c.customer_code, helped=c.helped,
                                       actor=c.actor)
            store.create(Pending([feedback]), "answered at the same moment; try again")
            return True
        if feedback.helped == c.helped:
            return False
        feedback.answer(c.helped, c.actor)
        store.save(Pending([feedback]))
        return True

    return store.retrying(attempt)
