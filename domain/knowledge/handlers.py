"""Handlers of the knowledge context.

请求的知识化 (turning a resolved request into knowledge) reads the request's own
event stream: the resolution and the customer's messages live only in events,
not in the aggregate's state.  Article numbers for drafts come from a
ReferenceSequence, one number per draft (drafts are rare; no block needed),
skipping numbers taken by imported articles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from domain import ids
from domain.aggregates.article_feedback import ArticleFeedback
from domain.aggregates.knowledge import KnowledgeArticle
from domain.aggregates.sequence import ReferenceSequence
from domain.commands import Handlers
from domain.errors import ConcurrentChange, InvalidTransition
from domain.knowledge.commands import (
    AnswerArticle,
    ApproveArticle,
    ArticleFromRequest,
    DraftArticle,
    EditDraft,
    PublishArticle,
    RetireArticle,
    ReviseArticle,
    SendBackArticle,
    SubmitArticle,
)
from domain.knowledge.content import MAX_TITLE, notes
from domain.knowledge.statements import guess_language, request_statements
from domain.requests.lookup import load_request
from domain.store import Pending, Store

handlers = Handlers()

SEQUENCE = "knowledge-article"
MAX_SKIPS = 1000


def find_article(store: Store, article_id: str) -> KnowledgeArticle | None:
    return store.get(KnowledgeArticle, KnowledgeArticle.create_id(article_id))


def load_article(store: Store, article_id: str) -> KnowledgeArticle:
    return store.load(KnowledgeArticle, KnowledgeArticle.create_id(article_id),
                      f"no knowledge article {article_id!r}")


def _tag_list(tags: Iterable[str]) -> list[str]:
    """A list survives a retry (an iterator would not), and a lone string is one tag."""
    return [tags] if isinstance(tags, str) else list(tags)


def _change(store: Store, article_id: str, expected_version: int | None,
            change: Callable[[KnowledgeArticle], object]) -> None:
    def load() -> KnowledgeArticle:
        article = load_article(store, article_id)
        if expected_version is not None and article.version != expected_version:
            raise ConcurrentChange(
                f"{article_id} changed since you loaded it (version {expected_version}, "
                f"now {article.version}); look at it again")
        return article

    store.change(load, change)


def next_article_id(store: Store) -> str:
    def reserve() -> int:
        sequence_id = ids.sequence_id(SEQUENCE)
        sequence = store.get(ReferenceSequence, sequence_id) or ReferenceSequence(name=SEQUENCE)
        number = sequence.next_number
        sequence.reserve(start=number, count=1)
        store.save(sequence)
        return number

    for _ in range(MAX_SKIPS):
        article_id = f"KB-{store.retrying(reserve):04d}"
        if find_article(store, article_id) is None:
            return article_id
    raise ConcurrentChange("no free article number; try again")


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


@handlers(DraftArticle)
def draft_article(store: Store, c: DraftArticle) -> str:
    tags = _tag_list(c.tags)
    statements = list(c.statements)
    # Checked before a number is taken: a refused draft uses none.
    KnowledgeArticle.draft(article_id=c.article_id or "KB-0000", title=c.title, kind=c.kind,
                           statements=statements, actor=c.actor, product=c.product, tags=tags,
                           language=c.language, source_reference=c.source_reference)
    article_id = c.article_id or next_article_id(store)

    def attempt() -> str:
        article = KnowledgeArticle.draft(
            article_id=article_id, title=c.title, kind=c.kind, statements=statements,
            actor=c.actor, product=c.product, tags=tags, language=c.language,
            source_reference=c.source_reference,
        )
        store.create(Pending([article]), f"article {article.article_id} exists already")
        return article.article_id

    return store.retrying(attempt)


@handlers(EditDraft)
def edit_draft(store: Store, c: EditDraft) -> bool:
    changed: list[bool] = []
    tags = None if c.tags is None else _tag_list(c.tags)
    statements = None if c.statements is None else list(c.statements)

    def edit(article: KnowledgeArticle) -> None:
        changed[:] = [article.edit(c.actor, title=c.title, kind=c.kind, statements=statements,
                                   product=c.product, tags=tags, language=c.language,
                                   clear_product=c.clear_product)]

    _change(store, c.article_id, c.expected_version, edit)
    return bool(changed and changed[0])


@handlers(SubmitArticle)
def submit_article(store: Store, c: SubmitArticle) -> None:
    _change(store, c.article_id, c.expected_version, lambda a: a.submit(c.actor))


@handlers(ApproveArticle)
def approve_article(store: Store, c: ApproveArticle) -> int:
    _change(store, c.article_id, c.expected_version, lambda a: a.approve(c.actor))
    return load_article(store, c.article_id).revision


@handlers(SendBackArticle)
def send_back_article(store: Store, c: SendBackArticle) -> None:
    _change(store, c.article_id, c.expected_version, lambda a: a.send_back(c.reason, c.actor))


@handlers(ReviseArticle)
def revise_article(store: Store, c: ReviseArticle) -> None:
    """Start a revision and apply the changes in one write: a refused change
    leaves the article published as it was."""
    tags = None if c.tags is None else _tag_list(c.tags)
    statements: list[Mapping[str, Any]] | None = None
    if c.statements is not None:
        statements = list(c.statements)
    elif c.body is not None:
        statements = list(notes(c.body))

    def revise(article: KnowledgeArticle) -> None:
        article.start_revision(c.actor)
        article.edit(c.actor, title=c.title, kind=c.kind, statements=statements, tags=tags,
                     product=c.product, clear_product=c.clear_product, language=c.language)

    _change(store, c.article_id, c.expected_version, revise)


@handlers(RetireArticle)
def retire_article(store: Store, c: RetireArticle) -> None:
    _change(store, c.article_id, c.expected_version, lambda a: a.retire(c.reason, c.actor))


@handlers(ArticleFromRequest)
def article_from_request(store: Store, c: ArticleFromRequest) -> str:
    """Only a finished request has a resolution to learn from."""
    request = load_request(store, c.reference)
    if request.status not in ("resolved", "closed"):
        raise InvalidTransition(
            f"{c.reference} is {request.status}; only a resolved or closed request "
            "can become an article"
        )
    statements = request_statements(request, store.events(request.id), c.kind)
    text = " ".join(s["text"] for s in statements)
    return draft_article(store, DraftArticle(
        title=c.title or request.subject[:MAX_TITLE], kind=c.kind, actor=c.actor,
        statements=statements,
        article_id=c.article_id, product=request.product, tags=[request.request_type],
        language=guess_language(text), source_reference=c.reference,
    ))


@handlers(AnswerArticle)
def answer_article(store: Store, c: AnswerArticle) -> bool:
    """Record the answer; False when it is the one this reader already gave."""
    article = load_article(store, c.article_id)
    if article.published is None:
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
