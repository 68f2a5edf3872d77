"""The knowledge authoring read model: every article whatever its status, the
draft being written, each published revision, and the article's history.

Readers' search is projections.knowledge (published revisions only); this view
serves the staff's list, editor and review queue, and GET /kb/articles/{id}.
"""

from __future__ import annotations

from typing import Any

from domain.aggregates.knowledge import STATUSES, KnowledgeArticle
from domain.errors import invalid
from domain.knowledge.content import notes
from projections.storage import ViewStorage
from projections.view import Db, View, from_json, handles, iso, to_json

# The event classes made by @event are invisible to mypy outside a decorator.
KB: Any = KnowledgeArticle
MAX_LIMIT = 200
MAX_QUERY = 200
_CONTENT = ("title", "kind", "statements", "product", "tags", "language")


class KnowledgeArticlesView(View):
    name = "knowledge_articles"
    version = 1
    tables = ("kba_articles", "kba_revisions", "kba_history")
    schema = (
        """CREATE TABLE IF NOT EXISTS kba_articles (
            id TEXT PRIMARY KEY,
            article_id TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            title TEXT NOT NULL,
            kind TEXT NOT NULL,
            statements TEXT NOT NULL,
            product TEXT,
            tags TEXT NOT NULL,
            language TEXT NOT NULL,
            source_reference TEXT,
            revision INTEGER NOT NULL,
            authors TEXT NOT NULL,
            sent_back_because TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL,
            version INTEGER NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS kba_revisions (
            article_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            title TEXT NOT NULL,
            kind TEXT NOT NULL,
            statements TEXT NOT NULL,
            product TEXT,
            tags TEXT NOT NULL,
            language TEXT NOT NULL,
            authors TEXT NOT NULL,
            approved_by TEXT NOT NULL,
            published_at TEXT NOT NULL,
            PRIMARY KEY (article_id, revision)
        )""",
        """CREATE TABLE IF NOT EXISTS kba_history (
            article_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            at TEXT NOT NULL,
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            revision INTEGER NOT NULL,
            reason TEXT,
            PRIMARY KEY (article_id, version)
        )""",
        "CREATE INDEX IF NOT EXISTS kba_articles_status ON kba_articles (status, updated_at)",
    )

    # --- creation ---------------------------------------------------------------

    @handles(KB.Published)
    def published(self, db: Db, e: Any, position: int) -> None:
        content = {"title": e.title, "kind": e.kind, "statements": notes(e.body),
                   "product": e.product, "tags": e.tags, "language": e.language}
        self._create(db, e, e.article_id, "published", 1, content, e.source_reference)
        self._revision(db, e, e.article_id, 1, content, [e.actor])

    @handles(KB.Drafted)
    def drafted(self, db: Db, e: Any, position: int) -> None:
        content = {key: getattr(e, key) for key in _CONTENT}
        self._create(db, e, e.article_id, "draft", 0, content, e.source_reference)

    def _create(self, db: Db, e: Any, article_id: str, status: str, revision: int,
                content: dict[str, Any], source: str | None) -> None:
        db.execute(
            """INSERT INTO kba_articles (id, article_id, status, title, kind, statements,
                   product, tags, language, source_reference, revision, authors,
                   created_at, updated_at, updated_by, version)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO NOTHING""",
            (str(e.originator_id), article_id, status, content["title"], content["kind"],
             to_json(content["statements"]), content["product"], to_json(content["tags"]),
             content["language"], source, revision, to_json([e.actor]), iso(e.timestamp),
             iso(e.timestamp), e.actor, e.originator_version))
        self._history(db, e, article_id, status if status == "published" else "drafted",
                      revision)

    # --- the workflow -------------------------------------------------------------

    @handles(KB.DraftEdited)
    def edited(self, db: Db, e: Any, position: int) -> None:
        row = self._row(db, e)
        if row is None:
            return
        authors = _with(from_json(row["authors"]) or [], e.actor)
        db.execute(
            """UPDATE kba_articles SET title = ?, kind = ?, statements = ?, product = ?,
                   tags = ?, language = ?, authors = ? WHERE id = ?""",
            (e.title, e.kind, to_json(e.statements), e.product, to_json(e.tags), e.language,
             to_json(authors), str(e.originator_id)))
        self._moved(db, e, row, row["status"], "edited")

    @handles(KB.SubmittedForReview)
    def submitted(self, db: Db, e: Any, position: int) -> None:
        row = self._row(db, e)
        if row is not None:
            db.execute("UPDATE kba_articles SET authors = ?, sent_back_because = NULL "
                       "WHERE id = ?",
                       (to_json(_with(from_json(row["authors"]) or [], e.actor)),
                        str(e.originator_id)))
            self._moved(db, e, row, "in_review", "submitted")

    @handles(KB.SentBack)
    def sent_back(self, db: Db, e: Any, position: int) -> None:
        row = self._row(db, e)
        if row is not None:
            db.execute("UPDATE kba_articles SET sent_back_because = ? WHERE id = ?",
                       (e.reason, str(e.originator_id)))
            self._moved(db, e, row, "draft", "sent_back", e.reason)

    @handles(KB.RevisionPublished)
    def revision_published(self, db: Db, e: Any, position: int) -> None:
        row = self._row(db, e)
        if row is None:
            return
        content = {key: getattr(e, key) for key in _CONTENT}
        db.execute(
            """UPDATE kba_articles SET title = ?, kind = ?, statements = ?, product = ?,
                   tags = ?, language = ?, revision = ? WHERE id = ?""",
            (e.title, e.kind, to_json(e.statements), e.product, to_json(e.tags), e.language,
             e.revision, str(e.originator_id)))
        self._revision(db, e, row["article_id"], e.revision, content,
                       from_json(row["authors"]) or [])
        self._moved(db, e, {**row, "revision": e.revision}, "published", "published")

    @handles(KB.RevisionStarted)
    def revision_started(self, db: Db, e: Any, position: int) -> None:
        row = self._row(db, e)
        if row is not None:
            db.execute("UPDATE kba_articles SET authors = ?, sent_back_because = NULL "
                       "WHERE id = ?", (to_json([e.actor]), str(e.originator_id)))
            self._moved(db, e, row, "draft", "revision_started")

    @handles(KB.Revised)
    def revised(self, db: Db, e: Any, position: int) -> None:
        """A revision in place, from before review existed."""
        row = self._row(db, e)
        if row is None:
            return
        revision = row["revision"] + 1
        content = {"title": e.title, "kind": row["kind"], "statements": notes(e.body),
                   "product": row["product"], "tags": e.tags, "language": row["language"]}
        db.execute("UPDATE kba_articles SET title = ?, statements = ?, tags = ?, revision = ? "
                   "WHERE id = ?", (e.title, to_json(content["statements"]), to_json(e.tags),
                                    revision, str(e.originator_id)))
        self._revision(db, e, row["article_id"], revision, content, [e.actor])
        self._moved(db, e, {**row, "revision": revision}, "published", "revised")

    @handles(KB.Retired)
    def retired(self, db: Db, e: Any, position: int) -> None:
        row = self._row(db, e)
        if row is not None:
            self._moved(db, e, row, "retired", "retired", e.reason)

    # --- rows ---------------------------------------------------------------------

    def _row(self, db: Db, e: Any) -> dict[str, Any] | None:
        return db.one("SELECT * FROM kba_articles WHERE id = ?", (str(e.originator_id),))

    def _moved(self, db: Db, e: Any, row: dict[str, Any], status: str, action: str,
               reason: str | None = None) -> None:
        db.execute("UPDATE kba_articles SET status = ?, updated_at = ?, updated_by = ?, "
                   "version = ? WHERE id = ?",
                   (status, iso(e.timestamp), e.actor, e.originator_version,
                    str(e.originator_id)))
        self._history(db, e, row["article_id"], action, row["revision"], reason)

    def _history(self, db: Db, e: Any, article_id: str, action: str, revision: int,
                 reason: str | None = None) -> None:
        db.execute(
            """INSERT INTO kba_history (article_id, version, at, action, actor, revision, reason)
               VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (article_id, version) DO NOTHING""",
            (article_id, e.originator_version, iso(e.timestamp), action, e.actor, revision,
             reason))

    def _revision(self, db: Db, e: Any, article_id: str, revision: int,
                  content: dict[str, Any], authors: list[str]) -> None:
        db.execute(
            """INSERT INTO kba_revisions (article_id, revision, title, kind, statements,
                   product, tags, language, authors, approved_by, published_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (article_id, revision) DO NOTHING""",
            (article_id, revision, content["title"], content["kind"],
             to_json(content["statements"]), content["product"], to_json(content["tags"]),
             content["language"], to_json(authors), e.actor, iso(e.timestamp)))


def _with(authors: list[str], actor: str) -> list[str]:
    return authors if actor in authors else [*authors, actor]


# --- queries ------------------------------------------------------------------------


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("statements", "tags", "authors"):
        if key in row:
            row[key] = from_json(row[key]) or []
    return row


def articles(storage: ViewStorage, status: str | None = None, query: str | None = None,
             limit: int = 100) -> list[dict[str, Any]]:
    """Articles, most recently changed first, of one status (None: all) whose
    id or title contains `query`."""
    if status is not None and status not in STATUSES:
        raise invalid("status", f"status must be one of {', '.join(STATUSES)}")
    query = " ".join((query or "").split())[:MAX_QUERY]
    limit = max(1, min(int(limit), MAX_LIMIT))
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    rows = storage.query(
        """SELECT article_id, status, title, kind, product, revision, source_reference,
                  updated_at, updated_by, sent_back_because, version
           FROM kba_articles
           WHERE (CAST(? AS TEXT) IS NULL OR status = ?)
             AND (LOWER(title) LIKE ? ESCAPE '\\' OR LOWER(article_id) LIKE ? ESCAPE '\\')
           ORDER BY updated_at DESC, article_id LIMIT ?""",
        (status, status, pattern, pattern, limit))
    return rows


def status_counts(storage: ViewStorage) -> dict[str, int]:
    rows = storage.query("SELECT status, COUNT(*) AS n FROM kba_articles GROUP BY status")
    found = {status: 0 for status in STATUSES}
    found.update({row["status"]: int(row["n"]) for row in rows})
    return found


def article(storage: ViewStorage, article_id: str) -> dict[str, Any] | None:
    """The whole article: its status and the draft (or what is published), every
    published revision (newest first) and its history (oldest first)."""
    rows = storage.query("SELECT * FROM kba_articles WHERE article_id = ?", (article_id,))
    if not rows:
        return None
    found = _decoded(rows[0])
    found.pop("id", None)
    found["revisions"] = [_decoded(r) for r in storage.query(
        "SELECT * FROM kba_revisions WHERE article_id = ? ORDER BY revision DESC",
        (article_id,))]
    for revision in found["revisions"]:
        revision.pop("article_id", None)
    found["history"] = storage.query(
        "SELECT version, at, action, actor, revision, reason FROM kba_history "
        "WHERE article_id = ? ORDER BY version", (article_id,))
    published = found["revisions"][0] if found["revisions"] else None
    found["published"] = published if found["status"] != "retired" else None
    return found


def public_article(found: dict[str, Any]) -> dict[str, Any]:
    """What a customer may read of an article: its published revision, no drafts,
    no authors, no review notes."""
    published = found["published"] or {}
    return {"article_id": found["article_id"], "status": "published",
            "revision": published.get("revision"),
            **{key: published.get(key) for key in _CONTENT},
            "source_reference": None, "published_at": published.get("published_at")}
