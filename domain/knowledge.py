"""Knowledge-base commands, mixed into the Ledgerdesk application.

Kept apart from domain.application so that file does not keep growing; the
application class inherits `KnowledgeCommands` and supplies saving, loading and
retrying.  请求的知识化 (turning a resolved request into knowledge) reads the
request's own event stream: the resolution and the customer's messages live
only in events, not in the aggregate's state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.aggregates.knowledge import KnowledgeArticle
from domain.aggregates.service_request import ServiceRequest
from domain.errors import AlreadyExists, InvalidTransition, NotFound

T = TypeVar("T")

if TYPE_CHECKING:
    from eventsourcing.application import Application

    _Host = Application[UUID]
else:
    _Host = object

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# The event classes made by @event are invisible to mypy outside a decorator.
_SR: Any = ServiceRequest

# Lines of a customer's message that repeat older mail rather than describe the problem.
_QUOTE_PREFIXES = (">", "-----")
MAX_MESSAGE_LINES = 20


class KnowledgeCommands(_Host):
    """Publishing, revising and retiring articles.  Needs the host's `save`,
    `repository`, `events`, `service_request` and `_retrying`."""

    if TYPE_CHECKING:

        def service_request(self, reference: str) -> ServiceRequest: ...

        def _retrying(self, attempt: Callable[[], T]) -> T: ...

    def publish_article(
        self,
        article_id: str,
        title: str,
        body: str,
        kind: str,
        actor: str,
        product: str | None = None,
        tags: Iterable[str] = (),
        language: str = "zh",
        source_reference: str | None = None,
    ) -> str:
        tag_list = _tag_list(tags)

        def attempt() -> str:
            # Built afresh each time: a failed save has already taken the pending events.
            article = KnowledgeArticle.publish(
                article_id=article_id, title=title, body=body, kind=kind, actor=actor,
                product=product, tags=tag_list, language=language,
                source_reference=source_reference,
            )
            try:
                self.save(article)
            except IntegrityError:
                # The id is derived from article_id, so a second article with the
                # same id conflicts on version 1 inside the store's own write.
                if self._find_article(article.article_id) is not None:
                    raise AlreadyExists(f"article {article.article_id} exists already") from None
                raise
            return article.article_id

        return self._retrying(attempt)

    def revise_article(
        self,
        article_id: str,
        actor: str,
        title: str | None = None,
        body: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> None:
        tag_list = None if tags is None else _tag_list(tags)

        def attempt() -> None:
            article = self.article(article_id)
            article.revise(actor=actor, title=title, body=body, tags=tag_list)
            self.save(article)

        self._retrying(attempt)

    def retire_article(self, article_id: str, reason: str, actor: str) -> None:
        def attempt() -> None:
            article = self.article(article_id)
            article.retire(reason=reason, actor=actor)
            self.save(article)

        self._retrying(attempt)

    def article(self, article_id: str) -> KnowledgeArticle:
        article = self._find_article(article_id)
        if article is None:
            raise NotFound(f"no knowledge article {article_id!r}")
        return article

    def article_from_request(
        self, reference: str, article_id: str, title: str, actor: str, kind: str = "case"
    ) -> str:
        """请求的知识化: an article made of what the customer reported and how
        it was resolved.  Only a finished request has a resolution to learn from."""
        request = self.service_request(reference)
        if request.status not in ("resolved", "closed"):
            raise InvalidTransition(
                f"{reference} is {request.status}; only a resolved or closed request "
                "can become an article"
            )
        body = request_statements(request, self.events.get(request.id))
        return self.publish_article(
            article_id=article_id, title=title, body=body, kind=kind, actor=actor,
            product=request.product, tags=[request.request_type],
            language=guess_language(body), source_reference=reference,
        )

    def _find_article(self, article_id: str) -> KnowledgeArticle | None:
        try:
            found: Any = self.repository.get(KnowledgeArticle.create_id(article_id))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, KnowledgeArticle) else None


def request_statements(request: ServiceRequest, events: Iterable[Any]) -> str:
    """Subject, description, the customer's messages, then the latest resolution
    (a request reopened and resolved again was solved by the last one)."""
    problem: list[str] = [request.subject, request.description]
    resolution = ""
    for e in events:
        if isinstance(e, _SR.MessageReceived):
            problem.append(_message_lines(e.body))
        elif isinstance(e, _SR.Resolved):
            resolution = e.resolution or ""
    lines = _distinct_lines([*problem, resolution])
    return "\n".join(lines) or request.subject


def guess_language(text: str) -> str:
    """Any Chinese at all makes it a Chinese article: these are bilingual
    notes where Chinese carries the meaning and English names the parts."""
    return "zh" if _HAN.search(text) else "en"


def _tag_list(tags: Iterable[str]) -> list[str]:
    """A list survives a retry (an iterator would not), and a lone string is one tag."""
    return [tags] if isinstance(tags, str) else list(tags)


def _message_lines(body: str) -> str:
    kept = [
        line for line in (body or "").splitlines()
        if not line.strip().startswith(_QUOTE_PREFIXES)
    ]
    return "\n".join(kept[:MAX_MESSAGE_LINES])


def _distinct_lines(texts: Iterable[str]) -> list[str]:
    """Mail repeats itself (the description is often the first message too)."""
    seen: dict[str, None] = {}
    for text in texts:
        for line in (text or "").splitlines():
            line = " ".join(line.split())
            if line:
                seen.setdefault(line, None)
    return list(seen)
