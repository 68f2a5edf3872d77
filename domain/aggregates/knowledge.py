"""The KnowledgeArticle aggregate: one piece of the knowledge base.

An article is a typed list of short, typed statements (domain.knowledge.content).
Its life is a state machine:

    draft ──submit──▶ in_review ──approve──▶ published ──start revision──▶ draft …
      ▲                  │                       (revision 2, 3… each one reviewed)
      └──send back(reason)┘
    any state but retired ──retire(reason)──▶ retired (kept, never found again)

Four eyes: a revision is approved by someone who did not write or submit it.
While a revision is in draft or in review, readers keep seeing the last
published revision; every published revision stays in `revisions`.

Events carry whole values (the full content after an edit), so a read model
replaces a row without knowing the earlier events.  `Published`, `Revised`
and `Retired` are the events of before the authoring workflow (an article
published at once, revised in place); they are still read, and `Published`
is still how imported articles (the demo's) arrive.  Never rename them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.errors import InvalidTransition, PermissionDenied, invalid
from domain.knowledge.content import (
    KINDS,
    LANGUAGES,
    MAX_TAG,
    MAX_TAGS,
    MAX_TITLE,
    Statement,
    body_of,
    checked_body,
    checked_kind,
    checked_language,
    checked_product,
    checked_statements,
    checked_tags,
    checked_title,
    missing_statements,
    notes,
)
from domain.personal import PersonalData, fields

__all__ = ["KINDS", "LANGUAGES", "MAX_TAG", "MAX_TAGS", "MAX_TITLE", "STATUSES",
           "KnowledgeArticle", "checked_body", "checked_tags", "checked_title"]

STATUSES = ("draft", "in_review", "published", "retired")
ARTICLE_ID_PATTERN = re.compile(r"KB-[0-9]{4,}")  # whole: fullmatch
MAX_REASON = 2000
_CONTENT = "kind language product statements tags title"


class KnowledgeArticle(Aggregate):
    # Desk knowledge, nobody's personal data (domain.personal).  An article drafted
    # from a request starts with the customer's words: its author and reviewer
    # make it general before it is published (README, "Knowledge").
    personal_data = PersonalData(
        owner=lambda article: None,
        unowned_in_clear=True,
        events={
            "Published": fields(
                plain="article_id body kind language product source_reference tags title"
            ),
            "Revised": fields(plain="body tags title"),
            "Retired": fields(plain="reason"),
            "Drafted": fields(plain=f"article_id source_reference {_CONTENT}"),
            "DraftEdited": fields(plain=_CONTENT),
            "SubmittedForReview": fields(),
            "SentBack": fields(plain="reason"),
            "RevisionPublished": fields(plain=f"revision {_CONTENT}"),
            "RevisionStarted": fields(),
        },
    )

    class Drafted(Aggregate.Created):
        """A new article, in draft, written by `actor`."""

        article_id: str
        title: str
        kind: str
        statements: list[Statement]
        product: str | None
        tags: list[str]
        language: str
        source_reference: str | None
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.statements = [dict(s) for s in self.statements]
            aggregate.body = body_of(self.statements)
            aggregate.status = "draft"
            aggregate.revision = 0
            aggregate.revisions = []
            aggregate.authors = [self.actor]

    @staticmethod
    def create_id(article_id: str, **_: object) -> UUID:
        return uuid5(ids.NAMESPACE, f"knowledge:{article_id}")

    # --- creation --------------------------------------------------------------

    @classmethod
    def publish(
        cls,
        article_id: str,
        title: str,
        body: str,
        kind: str,
        actor: str,
        product: str | None = None,
        tags: Iterable[str] = (),
        language: str = "zh",
        source_reference: str | None = None,
    ) -> KnowledgeArticle:
        """An article published at once, without review: for imports of knowledge
        reviewed elsewhere (the demo's).  No surface offers it.  Validates, then
        creates: the Published event's body runs again on every replay, so the
        checks cannot live in __init__."""
        return cls(
            article_id=checked_article_id(article_id),
            title=checked_title(title),
            body=checked_body(body),
            kind=checked_kind(kind),
            product=checked_product(product),
            tags=checked_tags(tags),
            language=checked_language(language),
            source_reference=source_reference,
            actor=actor,
        )

    @classmethod
    def draft(
        cls,
        article_id: str,
        title: str,
        kind: str,
        statements: Iterable[Mapping[str, Any]],
        actor: str,
        product: str | None = None,
        tags: Iterable[str] = (),
        language: str = "zh",
        source_reference: str | None = None,
    ) -> KnowledgeArticle:
        """A new article in draft.  It may be incomplete; submitting checks that
        it says what its kind needs."""
        article_id = checked_article_id(article_id)
        kind = checked_kind(kind)
        return cls._create(
            cls.Drafted,
            id=cls.create_id(article_id),
            article_id=article_id,
            title=checked_title(title),
            kind=kind,
            statements=checked_statements(kind, statements),
            product=checked_product(product),
            tags=checked_tags(tags),
            language=checked_language(language),
            source_reference=source_reference,
            actor=actor,
        )

    @event("Published")
    def __init__(
        self,
        article_id: str,
        title: str,
        body: str = "",
        kind: str = "",
        product: str | None = None,
        tags: list[str] | None = None,
        language: str = "zh",
        source_reference: str | None = None,
        actor: str = "",
    ) -> None:
        # The defaults are for a Drafted article, which has no body: this also
        # runs first for it (whose apply() then sets the draft's state), as
        # eventsourcing builds every created event through __init__.
        self.article_id = article_id
        self.title = title
        self.body = body
        self.kind = kind
        self.product = product
        self.tags = list(tags or ())
        self.language = language
        self.source_reference = source_reference
        self.statements: list[Statement] = notes(body)
        self.status = "published"
        self.revision = 1
        self.revisions: list[dict[str, Any]] = []
        self.authors: list[str] = [actor]
        self.sent_back_because: str | None = None
        self._record_revision(actor)

    # --- what it holds ------------------------------------------------------------

    def content(self) -> dict[str, Any]:
        return {"title": self.title, "kind": self.kind, "statements": self.statements,
                "product": self.product, "tags": self.tags, "language": self.language}

    @property
    def published(self) -> dict[str, Any] | None:
        """The revision readers see, or None (never published, or retired)."""
        if self.status == "retired" or not self.revisions:
            return None
        return self.revisions[-1]

    def _record_revision(self, approver: str) -> None:
        self.revisions.append({"revision": self.revision, "approved_by": approver,
                               "authors": list(self.authors), **self.content(),
                               "statements": [dict(s) for s in self.statements]})

    # --- authoring ------------------------------------------------------------------

    def edit(
        self,
        actor: str,
        title: str | None = None,
        kind: str | None = None,
        statements: Iterable[Mapping[str, Any]] | None = None,
        product: str | None = None,
        tags: Iterable[str] | None = None,
        language: str | None = None,
        clear_product: bool = False,
    ) -> bool:
        """Change what is given of a draft; False (nothing recorded) when nothing
        changes, so retrying an edit after a conflict is harmless."""
        self._require("draft", "edited")
        new_kind = self.kind if kind is None else checked_kind(kind)
        new_statements = checked_statements(
            new_kind, self.statements if statements is None else statements)
        new: dict[str, Any] = {
            "title": self.title if title is None else checked_title(title),
            "kind": new_kind,
            "statements": new_statements,
            "product": None if clear_product else (
                self.product if product is None else checked_product(product)),
            "tags": self.tags if tags is None else checked_tags(tags),
            "language": self.language if language is None else checked_language(language),
        }
        if new == self.content():
            return False
        self._edited(actor=actor, **new)
        return True

    @event("DraftEdited")
    def _edited(self, title: str, kind: str, statements: list[Statement], product: str | None,
                tags: list[str], language: str, actor: str) -> None:
        self.title, self.kind, self.product, self.language = title, kind, product, language
        self.statements = [dict(s) for s in statements]
        self.body = body_of(statements)
        self.tags = list(tags)
        if actor not in self.authors:
            self.authors.append(actor)

    def submit(self, actor: str) -> None:
        self._require("draft", "submitted for review")
        # The draft's state, not the command's input, is at fault: 422.
        missing = missing_statements(self.kind, self.statements)
        if missing:
            message = (f"a {self.kind} article needs at least one statement of kind "
                       f"{', '.join(missing)} before it is reviewed")
            raise InvalidTransition(message, fields={"statements": message})
        if self.revisions and self._unchanged():
            raise InvalidTransition(f"{self.article_id}: nothing changed since revision "
                                    f"{self.revision}; edit the draft first")
        self._submitted(actor=actor)

    def _unchanged(self) -> bool:
        last = self.revisions[-1]
        return all(last[key] == value for key, value in self.content().items())

    @event("SubmittedForReview")
    def _submitted(self, actor: str) -> None:
        self.status = "in_review"
        self.sent_back_because = None
        if actor not in self.authors:
            self.authors.append(actor)

    def send_back(self, reason: str, actor: str) -> None:
        """A reviewer returns the revision to draft, saying why."""
        self._require("in_review", "sent back")
        self._sent_back(reason=checked_reason(reason), actor=actor)

    @event("SentBack")
    def _sent_back(self, reason: str, actor: str) -> None:
        self.status = "draft"
        self.sent_back_because = reason

    def approve(self, actor: str) -> None:
        """Publish the revision under review as the next revision."""
        if self.status == "draft":
            raise InvalidTransition(f"{self.article_id} is a draft; submit it for review "
                                    "before it is published")
        self._require("in_review", "published")
        if actor in self.authors:
            raise PermissionDenied(f"you wrote or submitted this revision of {self.article_id}; "
                                   "a second person must approve it")
        self._revision_published(revision=self.revision + 1, actor=actor, **self.content())

    @event("RevisionPublished")
    def _revision_published(self, revision: int, title: str, kind: str,
                            statements: list[Statement], product: str | None, tags: list[str],
                            language: str, actor: str) -> None:
        self.title, self.kind, self.product, self.language = title, kind, product, language
        self.statements = [dict(s) for s in statements]
        self.body = body_of(statements)
        self.tags = list(tags)
        self.status = "published"
        self.revision = revision
        self._record_revision(actor)

    def start_revision(self, actor: str) -> None:
        """A new draft revision of a published article, starting from what is
        published; readers see the published one until the next is approved."""
        self._require("published", "revised")
        self._revision_started(actor=actor)

    @event("RevisionStarted")
    def _revision_started(self, actor: str) -> None:
        self.status = "draft"
        self.authors = [actor]
        self.sent_back_because = None

    # --- before the workflow: revised in place -------------------------------------

    @event("Revised")
    def _revised(self, title: str, body: str, tags: list[str], actor: str) -> None:
        """Only replayed (articles revised before review existed): each such
        revision was published at once."""
        self.title = title
        self.body = body
        self.statements = notes(body)
        self.tags = list(tags)
        self.revision += 1
        self.authors = [actor]
        self._record_revision(actor)

    # --- the end ----------------------------------------------------------------------

    def retire(self, reason: str, actor: str) -> None:
        if self.status == "retired":
            raise InvalidTransition(f"{self.article_id} is retired already")
        self._retired(reason=checked_reason(reason, "say why the article is retired"),
                      actor=actor)

    @event("Retired")
    def _retired(self, reason: str, actor: str) -> None:
        self.status = "retired"

    def _require(self, status: str, change: str) -> None:
        if self.status == status:
            return
        if self.status == "retired":
            raise InvalidTransition(f"{self.article_id} is retired; it cannot be {change}")
        hint = {"in_review": "send it back to draft first",
                "published": "start a revision first"}.get(self.status, "")
        shown = self.status.replace("_", " ")
        raise InvalidTransition(f"{self.article_id} is {shown}; it cannot be {change}"
                                + (f" ({hint})" if hint and status == "draft" else ""))


def checked_article_id(article_id: str) -> str:
    if not ARTICLE_ID_PATTERN.fullmatch(article_id or ""):
        raise invalid("article_id", "an article id looks like KB-0001")
    return article_id


def checked_reason(reason: str, empty: str = "say why") -> str:
    if len(reason or "") > MAX_REASON:
        raise invalid("reason", f"reason must be at most {MAX_REASON} characters")
    reason = " ".join((reason or "").split())
    if not reason:
        raise invalid("reason", empty)
    return reason
