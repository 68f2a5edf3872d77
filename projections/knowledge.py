"""The knowledge base read model and its full-text search.

The inverted index is ordinary rows (term, article, field, count), written by
the view from projections.text_terms, so search is the same SQL on SQLite and
PostgreSQL and needs no Chinese segmenter in either.  Ranking is BM25: idf
rewards rare terms, the tf part saturates so repeating a word does not win,
and body length is normalised so long articles do not win by size alone.
Title hits count three times: a title states what the article is about.
Only published revisions are indexed (a draft or a revision in review is the
authoring view's, projections.knowledge_articles): a row here is the revision
readers see, replaced by the next approved one; retiring drops its terms.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from typing import Any

from domain.aggregates.article_feedback import ArticleFeedback
from domain.aggregates.knowledge import KnowledgeArticle
from domain.errors import invalid
from domain.knowledge.content import body_of, notes
from projections.storage import ViewStorage
from projections.text_terms import terms
from projections.view import Db, View, from_json, handles, iso, to_json

K1 = 1.2  # tf saturation
B = 0.75  # how much body length matters
TITLE_WEIGHT = 3.0
MAX_LIMIT = 100
MAX_SNIPPET = 200

# The event classes made by @event are invisible to mypy outside a decorator.
KB: Any = KnowledgeArticle


class KnowledgeView(View):
    name = "knowledge"
    version = 3  # 2: readers' "did this solve it?" counts; 3: typed statements, revisions
    tables = ("kb_terms", "kb_articles", "kb_drafted", "kb_feedback", "kb_feedback_readers")
    schema = (
        """CREATE TABLE IF NOT EXISTS kb_drafted (
            id TEXT PRIMARY KEY,
            article_id TEXT NOT NULL,
            source_reference TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS kb_feedback_readers (
            feedback_id TEXT PRIMARY KEY,
            article_id TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS kb_feedback (
            article_id TEXT PRIMARY KEY,
            helped INTEGER NOT NULL DEFAULT 0,
            not_helped INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE IF NOT EXISTS kb_articles (
            id TEXT PRIMARY KEY,
            article_id TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            statements TEXT NOT NULL,
            revision INTEGER NOT NULL,
            kind TEXT NOT NULL,
            product TEXT,
            tags TEXT NOT NULL,
            language TEXT NOT NULL,
            status TEXT NOT NULL,
            source_reference TEXT,
            published_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            length INTEGER NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS kb_terms (
            term TEXT NOT NULL,
            article_id TEXT NOT NULL,
            field TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (term, article_id, field)
        )""",
        # Re-indexing deletes by article; the primary key leads with the term.
        "CREATE INDEX IF NOT EXISTS kb_terms_article ON kb_terms (article_id)",
        "CREATE INDEX IF NOT EXISTS kb_articles_status ON kb_articles (status, kind)",
    )

    @handles(KB.Published)
    def published(self, db: Db, e: Any, position: int) -> None:
        """An article published at once (before review existed, or imported)."""
        self._publish(db, e, e.article_id, 1, e.kind, e.product, e.language, e.title,
                      notes(e.body), e.tags, e.source_reference)

    @handles(KB.Drafted)
    def drafted(self, db: Db, e: Any, position: int) -> None:
        """Nothing for readers yet; kept to know the article's id and source
        when its first revision is approved."""
        db.execute("""INSERT INTO kb_drafted (id, article_id, source_reference) VALUES (?, ?, ?)
                      ON CONFLICT (id) DO NOTHING""",
                   (str(e.originator_id), e.article_id, e.source_reference))

    @handles(KB.RevisionPublished)
    def revision_published(self, db: Db, e: Any, position: int) -> None:
        drafted = db.one("SELECT article_id, source_reference FROM kb_drafted WHERE id = ?",
                         (str(e.originator_id),))
        row = drafted or db.one("SELECT article_id, source_reference FROM kb_articles "
                                "WHERE id = ?", (str(e.originator_id),))
        if row is None:
            return
        self._publish(db, e, row["article_id"], e.revision, e.kind, e.product, e.language,
                      e.title, e.statements, e.tags, row["source_reference"])

    @handles(KB.Revised)
    def revised(self, db: Db, e: Any, position: int) -> None:
        """A revision in place, from before review existed."""
        row = db.one("SELECT * FROM kb_articles WHERE id = ?", (str(e.originator_id),))
        if row is not None:
            self._publish(db, e, row["article_id"], row["revision"] + 1, row["kind"],
                          row["product"], row["language"], e.title, notes(e.body), e.tags,
                          row["source_reference"])

    def _publish(self, db: Db, e: Any, article_id: str, revision: int, kind: str,
                 product: str | None, language: str, title: str,
                 statements: list[dict[str, str]], tags: list[str],
                 source_reference: str | None) -> None:
        body = body_of(statements)
        body_terms = _body_terms(body, tags)
        db.execute(
            """INSERT INTO kb_articles (id, article_id, title, body, statements, revision, kind,
                   product, tags, language, status, source_reference, published_at,
                   updated_at, length)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'published', ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body,
                   statements = excluded.statements, revision = excluded.revision,
                   kind = excluded.kind, product = excluded.product, tags = excluded.tags,
                   language = excluded.language, updated_at = excluded.updated_at,
                   length = excluded.length""",
            (str(e.originator_id), article_id, title, body, to_json(statements), revision, kind,
             product, to_json(tags), language, source_reference, iso(e.timestamp),
             iso(e.timestamp), sum(body_terms.values())),
        )
        _index(db, article_id, title, body_terms)

    @handles(KB.Retired)
    def retired(self, db: Db, e: Any, position: int) -> None:
        article = db.one("SELECT article_id FROM kb_articles WHERE id = ?",
                         (str(e.originator_id),))
        db.execute("UPDATE kb_articles SET status = 'retired', updated_at = ? WHERE id = ?",
                   (iso(e.timestamp), str(e.originator_id)))
        if article is not None:
            db.execute("DELETE FROM kb_terms WHERE article_id = ?", (article["article_id"],))


    @handles(ArticleFeedback.Given)
    def feedback_given(self, db: Db, e: Any, position: int) -> None:
        db.execute("INSERT INTO kb_feedback_readers (feedback_id, article_id) VALUES (?, ?) "
                   "ON CONFLICT (feedback_id) DO NOTHING", (str(e.originator_id), e.article_id))
        _count(db, e.article_id, e.helped, 1)

    @handles(ArticleFeedback.Changed)
    def feedback_changed(self, db: Db, e: Any, position: int) -> None:
        row = db.one("SELECT article_id FROM kb_feedback_readers WHERE feedback_id = ?",
                     (str(e.originator_id),))
        if row is not None:  # a reader changed their mind: move their one answer
            _count(db, row["article_id"], e.helped, 1)
            _count(db, row["article_id"], not e.helped, -1)


def _count(db: Db, article_id: str, helped: bool, by: int) -> None:
    column = "helped" if helped else "not_helped"
    db.execute(f"INSERT INTO kb_feedback (article_id, {column}) VALUES (?, ?) "
               f"ON CONFLICT (article_id) DO UPDATE SET {column} = kb_feedback.{column} + ?",
               (article_id, max(by, 0), by))


def feedback(storage: ViewStorage, article_id: str) -> dict[str, int]:
    """How many readers said the article solved it, and how many not."""
    rows = storage.query("SELECT helped, not_helped FROM kb_feedback WHERE article_id = ?",
                         (article_id,))
    return rows[0] if rows else {"helped": 0, "not_helped": 0}


def _body_terms(body: str, tags: list[str]) -> Counter[str]:
    """Tags are searched as part of the body: they are words an agent chose
    to describe the article, but not its headline."""
    return terms(body) + terms(" ".join(tags))


def _index(db: Db, article_id: str, title: str, body_terms: Counter[str]) -> None:
    db.execute("DELETE FROM kb_terms WHERE article_id = ?", (article_id,))
    for field, counts in (("title", terms(title)), ("body", body_terms)):
        for term, count in counts.items():
            db.execute(
                "INSERT INTO kb_terms (term, article_id, field, count) VALUES (?, ?, ?, ?)",
                (term, article_id, field, count),
            )


def _sqlite_has_ln() -> bool:
    """LN exists in SQLite only when it was built with its math functions."""
    try:
        with sqlite3.connect(":memory:") as connection:
            connection.execute("SELECT LN(2.0)")
    except sqlite3.OperationalError:
        return False
    return True


SQLITE_HAS_LN = _sqlite_has_ln()

# Corpus statistics are over every published article, whatever `kind` filters,
# so an article scores the same whether or not the search was narrowed.
_STATS = """
    stats AS (
        SELECT CAST(COUNT(*) AS DOUBLE PRECISION) AS n,
               CAST(COALESCE(AVG(length), 0) AS DOUBLE PRECISION) AS avglen
        FROM kb_articles WHERE status = 'published'
    ),
    df AS (
        SELECT t.term, CAST(COUNT(DISTINCT t.article_id) AS DOUBLE PRECISION) AS df
        FROM kb_terms t
        JOIN q ON q.term = t.term
        JOIN kb_articles a ON a.article_id = t.article_id AND a.status = 'published'
        GROUP BY t.term
    )"""

# BM25's idf, kept positive (the +1) so a term found in most articles still counts a little.
_IDF_SQL = """
    idf AS (
        SELECT df.term, LN(1.0 + (stats.n - df.df + 0.5) / (df.df + 0.5)) AS w
        FROM df CROSS JOIN stats
    )"""

_RANKED = f"""
SELECT a.article_id, a.title, a.kind, a.product, a.body,
       SUM(
           idf.w
           * CASE t.field WHEN 'title' THEN {TITLE_WEIGHT} ELSE 1.0 END
           * t.count * ({K1} + 1.0)
           / (t.count + {K1} * CASE
                 WHEN t.field = 'body' AND stats.avglen > 0
                 THEN 1.0 - {B} + {B} * a.length / stats.avglen
                 ELSE 1.0 END)
       ) AS score
FROM kb_terms t
JOIN idf ON idf.term = t.term
JOIN kb_articles a ON a.article_id = t.article_id
CROSS JOIN stats
WHERE a.status = 'published' AND (CAST(? AS TEXT) IS NULL OR a.kind = ?)
GROUP BY a.article_id, a.title, a.kind, a.product, a.body
ORDER BY score DESC, a.article_id
LIMIT ?"""


def search(
    storage: ViewStorage, query: str, limit: int = 10, kind: str | None = None
) -> list[dict[str, Any]]:
    """Published articles matching any term of `query`, best first, with the
    first body line that contains a query term as the snippet."""
    if not (query or "").strip():
        raise invalid("q", "type something to search for")
    wanted = sorted(terms(query))
    if not wanted:  # only stop words or punctuation: nothing can match
        return []
    limit = max(1, min(int(limit), MAX_LIMIT))
    q = "q(term) AS (VALUES " + ", ".join("(?)" for _ in wanted) + ")"
    params: list[Any] = list(wanted)
    if getattr(storage, "dialect", "sqlite") == "postgresql" or SQLITE_HAS_LN:
        sql = f"WITH {q},{_STATS},{_IDF_SQL}{_RANKED}"
    else:
        idf = _idf_in_python(storage, q, wanted)
        if not idf:
            return []
        values = ", ".join("(?, ?)" for _ in idf)
        sql = f"WITH {q},{_STATS}, idf(term, w) AS (VALUES {values}){_RANKED}"
        params += [x for pair in idf.items() for x in pair]
    params += [kind, kind, limit]
    wanted_set = set(wanted)
    return [
        {
            "article_id": row["article_id"],
            "title": row["title"],
            "kind": row["kind"],
            "product": row["product"],
            "snippet": snippet(row["body"], wanted_set),
            "score": round(float(row["score"]), 4),
        }
        for row in storage.query(sql, params)
    ]


def _idf_in_python(storage: ViewStorage, q: str, wanted: list[str]) -> dict[str, float]:
    """The same idf as _IDF_SQL, for SQLite builds without LN (one more query)."""
    rows = storage.query(
        f"WITH {q},{_STATS} SELECT df.term, df.df, stats.n FROM df CROSS JOIN stats", wanted
    )
    return {
        row["term"]: math.log(1.0 + (row["n"] - row["df"] + 0.5) / (row["df"] + 0.5))
        for row in rows
    }


def snippet(body: str, wanted: set[str]) -> str:
    lines = body.splitlines()
    for line in lines:
        if wanted & terms(line).keys():
            return line[:MAX_SNIPPET]
    return lines[0][:MAX_SNIPPET] if lines else ""  # a title-only match


def article(storage: ViewStorage, article_id: str) -> dict[str, Any] | None:
    """The published revision of an article (retired ones too: `status` says),
    or None when none was ever published."""
    rows = storage.query("SELECT * FROM kb_articles WHERE article_id = ?", (article_id,))
    if not rows:
        return None
    row = rows[0]
    row["tags"] = from_json(row["tags"]) or []
    row["statements"] = from_json(row["statements"]) or []
    return row
