"""What a knowledge article is made of, and the checks on it.

Seed 000: a solution is made of short statements (短句), each saying one thing
about the problem; a few statements make a solution, "like a table".  So an
article is a typed list of typed statements: which statement kinds an article
kind takes, and which it needs before it can be reviewed, are below.

A statement from before authoring existed (one body line of a `Published`
event) is a `note`: its role was never said.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain.errors import invalid

KINDS = ("product", "solution", "case", "countermeasure", "faq")
LANGUAGES = ("zh", "en")
STATEMENT_KINDS = ("symptom", "cause", "solution", "question", "answer", "fact", "note")

_PROBLEM = ("symptom", "cause", "solution", "note")
# article kind -> (the statement kinds it takes, those it needs for review)
STATEMENTS_BY_KIND: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "product": (("fact", "note"), ("fact",)),
    "solution": (_PROBLEM, ("symptom", "solution")),
    "case": (_PROBLEM, ("symptom", "solution")),
    "countermeasure": (_PROBLEM, ("symptom", "solution")),
    "faq": (("question", "answer", "note"), ("question", "answer")),
}

MAX_TITLE = 200
MAX_TAGS = 20
MAX_TAG = 40
MAX_STATEMENT = 500  # a short statement; a longer text is several
MAX_STATEMENTS = 40
MAX_PRODUCT = 100

Statement = dict[str, str]


def checked_kind(kind: str) -> str:
    if kind not in KINDS:
        raise invalid("kind", f"kind must be one of {', '.join(KINDS)}")
    return kind


def checked_language(language: str) -> str:
    if language not in LANGUAGES:
        raise invalid("language", f"language must be one of {', '.join(LANGUAGES)}")
    return language


def checked_title(title: str) -> str:
    """Lengths are counted as typed (the API's schema says the same), then
    blanks are tidied."""
    if len(title or "") > MAX_TITLE:
        raise invalid("title", f"title must be at most {MAX_TITLE} characters")
    title = " ".join((title or "").split())
    if not title:
        raise invalid("title", "title must not be empty")
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
    given = [str(t) for t in tags]
    if len(given) > MAX_TAGS or any(len(t) > MAX_TAG for t in given):
        raise invalid("tags", f"at most {MAX_TAGS} tags of at most {MAX_TAG} characters")
    cleaned = list(dict.fromkeys(" ".join(t.split()) for t in given))
    return [t for t in cleaned if t]


def checked_product(product: str | None) -> str | None:
    if len(product or "") > MAX_PRODUCT:
        raise invalid("product", f"product must be at most {MAX_PRODUCT} characters")
    return " ".join((product or "").split()) or None


def checked_statements(kind: str, statements: Iterable[Mapping[str, Any]]) -> list[Statement]:
    """Each statement one line of at most MAX_STATEMENT characters, of a kind the
    article's kind takes; blank ones are dropped (an editor's empty row)."""
    allowed = STATEMENTS_BY_KIND[checked_kind(kind)][0]
    given = list(statements)
    if len(given) > MAX_STATEMENTS:
        raise invalid("statements", f"an article has at most {MAX_STATEMENTS} statements")
    found: list[Statement] = []
    for number, statement in enumerate(given, 1):
        if not isinstance(statement, Mapping):
            raise invalid("statements", f"statement {number} must be an object with kind and text")
        raw = statement.get("text")
        if not isinstance(raw, str):
            raise invalid("statements", f"statement {number}: text must be a string")
        if len(raw) > MAX_STATEMENT:
            raise invalid("statements", f"statement {number} is longer than {MAX_STATEMENT} "
                          "characters; split it into shorter statements")
        role = statement.get("kind")
        if role not in allowed:
            raise invalid("statements", f"statement {number}: a {kind} article takes "
                          f"statements of kind {', '.join(allowed)}")
        text = " ".join(raw.split())
        if text:
            found.append({"kind": str(role), "text": text})
    return found


def missing_statements(kind: str, statements: Iterable[Mapping[str, str]]) -> list[str]:
    """The statement kinds an article still needs before it can be reviewed."""
    have = {s["kind"] for s in statements}
    return [role for role in STATEMENTS_BY_KIND[kind][1] if role not in have]


def notes(body: str) -> list[Statement]:
    """Body lines of an article from before statements had kinds."""
    return [{"kind": "note", "text": line} for line in body.splitlines() if line.strip()]


def body_of(statements: Iterable[Mapping[str, str]]) -> str:
    """The statements as text, one per line (what search indexes)."""
    return "\n".join(s["text"] for s in statements)
