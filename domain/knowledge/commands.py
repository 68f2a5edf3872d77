"""Commands of the knowledge context.

Statements are `{"kind": ..., "text": ...}` (domain.knowledge.content).  An
edit names only what it changes (None: unchanged)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PublishArticle:
    """Published at once, without review: imports and the demo only."""

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
class DraftArticle:
    """A new article in draft; `article_id` None takes the next KB- number."""

    title: str
    kind: str
    actor: str
    statements: Sequence[Mapping[str, str]] = ()
    article_id: str | None = None
    product: str | None = None
    tags: Sequence[str] = ()
    language: str = "zh"
    source_reference: str | None = None


@dataclass(frozen=True)
class EditDraft:
    article_id: str
    actor: str
    title: str | None = None
    kind: str | None = None
    statements: Sequence[Mapping[str, str]] | None = None
    product: str | None = None
    clear_product: bool = False
    tags: Sequence[str] | None = None
    language: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class SubmitArticle:
    article_id: str
    actor: str
    expected_version: int | None = None


@dataclass(frozen=True)
class ApproveArticle:
    """Publish the revision under review (a second person: see the aggregate)."""

    article_id: str
    actor: str
    expected_version: int | None = None


@dataclass(frozen=True)
class SendBackArticle:
    """Reject the revision under review back to draft, saying why."""

    article_id: str
    reason: str
    actor: str
    expected_version: int | None = None


@dataclass(frozen=True)
class ReviseArticle:
    """Start a new draft revision of a published article, with these changes."""

    article_id: str
    actor: str
    title: str | None = None
    body: str | None = None  # a statement per line, as notes (the older API)
    tags: Sequence[str] | None = None
    statements: Sequence[Mapping[str, str]] | None = None
    kind: str | None = None
    product: str | None = None
    clear_product: bool = False
    language: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class RetireArticle:
    article_id: str
    reason: str
    actor: str
    expected_version: int | None = None


@dataclass(frozen=True)
class ArticleFromRequest:
    """请求的知识化: a draft made of what the customer reported (symptoms) and how
    it was resolved (the solution), linked to the request."""

    reference: str
    actor: str
    title: str | None = None  # default: the request's subject
    article_id: str | None = None
    kind: str = "case"


@dataclass(frozen=True)
class AnswerArticle:
    """A reader's "did this solve it?" on a published article (the portal)."""

    article_id: str
    reader: str  # the reader's sign-in address
    customer_code: str
    helped: bool
    actor: str
