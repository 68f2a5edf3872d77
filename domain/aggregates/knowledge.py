"""The KnowledgeArticle aggregate: one piece of the knowledge base.

An article is a typed list of short statements (one per line), as the seeds
describe solutions.  It is published, revised and finally retired; a retired
article is kept (nothing is ever deleted) but no longer found by search.
Events carry whole values (the full title, body and tags after a revision) so
a read model can replace a row without knowing the earlier events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.errors import InvalidTransition, invalid
from domain.personal import PersonalData, fields

KINDS = ("product", "solution", "case", "countermeasure", "faq")
LANGUAGES = ("zh", "en")
ARTICLE_ID_PATTERN = re.compile(r"^KB-\d{4,}$")
MAX_TITLE = 200
MAX_TAGS = 20
MAX_TAG = 40


class KnowledgeArticle(Aggregate):
    # Desk knowledge, nobody's personal data (domain.personal).
    personal_data = PersonalData(
        owner=lambda article: None,
        unowned_in_clear=True,
        events={
            "Published": fields(
                plain="article_id body kind language product source_reference tags title"
            ),
            "Revised": fields(plain="body tags title"),
            "Retired": fields(plain="reason"),
        },
    )

    @staticmethod
    def create_id(article_id: str, **_: object) -> UUID:
        return uuid5(ids.NAMESPACE, f"knowledge:{article_id}")

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
        """Validates, then creates: the Published event's body runs again on
        every replay, so the checks cannot live in __init__."""
        article_id = (article_id or "").strip()
        if not ARTICLE_ID_PATTERN.match(article_id):
            raise invalid("article_id", "an article id looks like KB-0001")
        if kind not in KINDS:
            raise invalid("kind", f"kind must be one of {', '.join(KINDS)}")
        if language not in LANGUAGES:
            raise invalid("language", f"language must be one of {', '.join(LANGUAGES)}")
        return cls(
            article_id=article_id,
            title=checked_title(title),
            body=checked_body(body),
            kind=kind,
            product=(product or "").strip() or None,
            tags=checked_tags(tags),
            language=language,
            source_reference=source_reference,
            actor=actor,
        )

    @event("Published")
    def __init__(
        self,
        article_id: str,
        title: str,
        body: str,
        kind: str,
        product: str | None,
        tags: list[str],
        language: str,
        source_reference: str | None,
        actor: str,
    ) -> None:
        self.article_id = article_id
        self.title = title
        self.body = body
        self.kind = kind
        self.product = product
        self.tags = list(tags)
        self.language = language
        self.source_reference = source_reference
        self.status = "published"

    @property
    def statements(self) -> list[str]:
        return self.body.splitlines()

    def revise(
        self,
        actor: str,
        title: str | None = None,
        body: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> None:
        """Changes what is given; a revision that changes nothing records nothing,
        so retrying the same revision after a conflict is harmless."""
        if title is None and body is None and tags is None:
            raise invalid("article", "a revision needs a new title, body or tags")
        self._require_published("revised")
        new_title = self.title if title is None else checked_title(title)
        new_body = self.body if body is None else checked_body(body)
        new_tags = self.tags if tags is None else checked_tags(tags)
        if (new_title, new_body, new_tags) == (self.title, self.body, self.tags):
            return
        self._revised(title=new_title, body=new_body, tags=new_tags, actor=actor)

    @event("Revised")
    def _revised(self, title: str, body: str, tags: list[str], actor: str) -> None:
        self.title = title
        self.body = body
        self.tags = list(tags)

    def retire(self, reason: str, actor: str) -> None:
        if not (reason or "").strip():
            raise invalid("reason", "say why the article is retired")
        self._require_published("retired")
        self._retired(reason=reason.strip(), actor=actor)

    @event("Retired")
    def _retired(self, reason: str, actor: str) -> None:
        self.status = "retired"

    def _require_published(self, change: str) -> None:
        if self.status != "published":
            raise InvalidTransition(f"{self.article_id} is {self.status}; it cannot be {change}")


def checked_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise invalid("title", "title must not be empty")
    if len(title) > MAX_TITLE:
        raise invalid("title", f"title must be at most {MAX_TITLE} characters")
    return title


def checked_body(body: str) -> str:
    """One statement per line: blank lines and stray spaces carry no meaning."""
    lines = [" ".join(line.split()) for line in (body or "").splitlines()]
    text = "\n".join(line for line in lines if line)
    if not text:
        raise invalid("body", "body must not be empty")
    return text


def checked_tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):  # a lone string would otherwise become one tag per letter
        tags = [tags]
    cleaned = list(dict.fromkeys(" ".join(str(t).split()) for t in tags))
    cleaned = [t for t in cleaned if t]
    if len(cleaned) > MAX_TAGS or any(len(t) > MAX_TAG for t in cleaned):
        raise invalid("tags", f"at most {MAX_TAGS} tags of at most {MAX_TAG} characters")
    return cleaned
