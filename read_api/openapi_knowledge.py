"""The OpenAPI paths of knowledge authoring (channels.web.api_knowledge) and of
the knowledge reads (read_api.knowledge_queries), merged into read_api.openapi.

Which statement kinds an article kind takes is a rule between fields that a
schema cannot state (the summaries say it; domain.knowledge.content has it).
"""

from __future__ import annotations

from typing import Any

from domain.aggregates.knowledge import STATUSES
from domain.knowledge.content import (
    KINDS,
    LANGUAGES,
    MAX_PRODUCT,
    MAX_STATEMENT,
    MAX_STATEMENTS,
    MAX_TAG,
    MAX_TAGS,
    MAX_TITLE,
    STATEMENT_KINDS,
    STATEMENTS_BY_KIND,
)
from read_api.openapi import (
    EXPECTED_VERSION,
    KB_HIT,
    KB_MAX_LIMIT,
    KB_QUERY_MAX_LENGTH,
    LINE_PATTERN,
    NULLABLE_TEXT,
    QUERY_ERRORS,
    REFERENCE,
    TEXT_PATTERN,
    _body,
    _command,
    _enum,
    _filter,
    _limit,
    _list,
    _nullable,
    _object,
    _op,
    _string,
)


def knowledge_paths() -> dict[str, Any]:
    """Built when read_api.openapi merges them (after its own helpers exist:
    this module and that one import each other)."""
    article_id = _string("^KB-[0-9]{4,}$", example="KB-0001")
    title = _string(LINE_PATTERN, maxLength=MAX_TITLE)
    reason = _string(LINE_PATTERN, maxLength=2000)
    statement = {
        "type": "object", "required": ["kind", "text"], "additionalProperties": False,
        "properties": {"kind": _enum(STATEMENT_KINDS),
                       "text": _string(TEXT_PATTERN, maxLength=MAX_STATEMENT,
                                       description="one short statement; blank ones are dropped")},
    }
    statements = _nullable({**_list(statement), "maxItems": MAX_STATEMENTS})
    tags = _nullable({**_list(_string(TEXT_PATTERN, maxLength=MAX_TAG)), "maxItems": MAX_TAGS})
    product = _nullable(_string(TEXT_PATTERN, maxLength=MAX_PRODUCT))
    kind_rule = "; ".join(f"{kind}: {', '.join(takes)} (needs {', '.join(needs)})"
                          for kind, (takes, needs) in STATEMENTS_BY_KIND.items())

    statement_out = _object(("kind", "text"), kind={"type": "string"}, text={"type": "string"})
    revision = _object(
        ("revision", "title", "kind", "statements", "approved_by", "published_at"),
        revision={"type": "integer"}, title={"type": "string"}, kind={"type": "string"},
        statements=_list(statement_out), product=NULLABLE_TEXT,
        tags=_list({"type": "string"}), language={"type": "string"},
        authors=_list({"type": "string"}), approved_by={"type": "string"},
        published_at={"type": "string"})
    article = _object(
        ("article_id", "status", "title", "kind", "statements", "revision"),
        article_id={"type": "string"}, status=_enum(STATUSES), title={"type": "string"},
        kind={"type": "string"}, statements=_list(statement_out), product=NULLABLE_TEXT,
        tags=_list({"type": "string"}), language={"type": "string"},
        revision={"type": ["integer", "null"]}, source_reference=NULLABLE_TEXT,
        version={"type": "integer"}, authors=_list({"type": "string"}),
        sent_back_because=NULLABLE_TEXT,
        published={"anyOf": [revision, {"type": "null"}]},
        revisions=_list(revision),
        history=_list(_object(("version", "at", "action", "actor", "revision"),
                              version={"type": "integer"}, at={"type": "string"},
                              action={"type": "string"}, actor={"type": "string"},
                              revision={"type": "integer"}, reason=NULLABLE_TEXT)),
    )
    list_item = _object(
        ("article_id", "status", "title", "kind", "revision", "updated_at", "updated_by",
         "version"),
        article_id={"type": "string"}, status=_enum(STATUSES), title={"type": "string"},
        kind={"type": "string"}, product=NULLABLE_TEXT, revision={"type": "integer"},
        source_reference=NULLABLE_TEXT, updated_at={"type": "string"},
        updated_by={"type": "string"}, sent_back_because=NULLABLE_TEXT,
        version={"type": "integer"})
    answer = _object(("article_id", "status"), article_id={"type": "string"},
                      status=_enum(STATUSES))
    path = {"article_id": article_id}

    def _content(**more: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {"title": _nullable(title), "kind": _nullable(_enum(KINDS)),
                "statements": statements, "product": product, "tags": tags,
                "language": _nullable(_enum(LANGUAGES)), **more}

    return {
        "/kb/search": {"get": _op(
            "Knowledge search (Chinese and English), best first", _object(
                ("items",), items=_list(KB_HIT)), errors=("400", *QUERY_ERRORS),
            query={"q": _string(LINE_PATTERN, maxLength=KB_QUERY_MAX_LENGTH),
                   "kind": _filter(KINDS), "limit": _limit(KB_MAX_LIMIT)},
            required=("q",),
        )},
        "/kb/articles": {"get": _op(
            "Knowledge articles of every status, most recently changed first (staff and "
            "auditors); `q` looks in the id and title", _object(("items",), items=_list(list_item)),
            errors=("400", *QUERY_ERRORS),
            query={"status": _filter(STATUSES), "q": _string(TEXT_PATTERN, maxLength=200),
                   "limit": _limit(200)},
        )},
        "/kb/articles/{article_id}": {"get": _op(
            "One article: staff and auditors get its status, the draft, every published revision "
            "and its history; customers only the published revision (a draft or a retired "
            "article is 404 to them)", article, errors=("404", *QUERY_ERRORS), path=path,
        )},
        "/kb/drafts": {"post": _command(
            "Write a new article, in draft (staff); `article_id` null takes the next number. "
            f"Statement kinds by article kind: {kind_rule}",
            _body(("title", "kind"), **_content(title=title, kind=_enum(KINDS),
                                                article_id=_nullable(article_id))),
            answer, status="201",
        )},
        "/kb/articles/{article_id}/draft": {"post": _command(
            "Change the draft (only what is given; a null or empty product clears it); 422 "
            "unless it is in draft. Statement kinds as for /kb/drafts",
            _body((), **_content(expected_version=EXPECTED_VERSION)),
            _object(("article_id", "changed"), article_id={"type": "string"},
                    changed={"type": "boolean"}), path=path,
        )},
        "/kb/articles/{article_id}/submit": {"post": _command(
            "Submit the draft for review; 422 when it lacks the statements its kind needs",
            _body(expected_version=EXPECTED_VERSION), answer, path=path,
        )},
        "/kb/articles/{article_id}/approve": {"post": _command(
            "Publish the revision under review as the next revision (managers and admins); "
            "403 for one who wrote or submitted it (a second person approves)",
            _body(expected_version=EXPECTED_VERSION),
            _object(("article_id", "status", "revision"), article_id={"type": "string"},
                    status=_enum(STATUSES), revision={"type": "integer"}), path=path,
        )},
        "/kb/articles/{article_id}/send-back": {"post": _command(
            "Reject the revision under review back to draft, saying why (managers and admins)",
            _body(("reason",), reason=reason, expected_version=EXPECTED_VERSION), answer,
            path=path,
        )},
        "/kb/articles/{article_id}/revise": {"post": _command(
            "Start the next revision of a published article, in draft, with these changes; "
            "readers see the published revision until the next is approved",
            _body((), **_content(expected_version=EXPECTED_VERSION)), answer, path=path,
        )},
        "/kb/articles/{article_id}/retire": {"post": _command(
            "Retire an article (managers and admins): kept, never found or shown to customers",
            _body(("reason",), reason=reason, expected_version=EXPECTED_VERSION), answer,
            path=path,
        )},
        "/service-requests/{ref}/knowledge": {"post": _command(
            "请求的知识化: a draft article from a resolved or closed request: the customer's "
            "report as symptoms, the resolution as the solution, linked to the request "
            "(staff); 422 while the request is open",
            _body(title=_nullable(title), kind=_enum(KINDS)), answer, status="201",
            path={"ref": REFERENCE},
        )},
    }
