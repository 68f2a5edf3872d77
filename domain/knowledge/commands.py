"""Commands of the knowledge context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PublishArticle:
    article_id: str
    title: str
    body: str
    kind: str
    actor: str
    product: str | None = None
    tags: Sequence[str] = ()
    language: str = "zh"
    source_reference: str | None = None


@dataclass(frozen=True)
class ReviseArticle:
    article_id: str
    actor: str
    title: str | None = None
    body: str | None = None
    tags: Sequence[str] | None = None


@dataclass(frozen=True)
class RetireArticle:
    article_id: str
    reason: str
    actor: str


@dataclass(frozen=True)
class ArticleFromRequest:
    """请求的知识化: an article made of what the customer reported and how it was resolved."""

    reference: str
    article_id: str
    title: str
    actor: str
    kind: str = "case"


@dataclass(frozen=True)
class AnswerArticle:
    """A reader's "did this solve it?" on a published article (the portal)."""

    article_id: str
    reader: str  # the reader's sign-in address
    customer_code: str
    helped: bool
    actor: str
