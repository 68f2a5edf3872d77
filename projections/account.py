"""The portal's "My account": a customer's ERP documents (orders, shipments,
invoices, payments, returns) and the queries over them.

One row per document holds its latest content (events carry whole values, so
`Revised` replaces the row).  Amounts are kept as the event's decimal text for
showing and as an integer of ten-thousandths for sorting, since TEXT does not
sort as numbers and a float column would not hold cents exactly.  `search` is
the document's words folded to lower case (number, facts, text, line SKUs and
descriptions), searched by LIKE: the same SQL on SQLite and PostgreSQL, and
both sides are folded in Python because SQLite's LOWER() knows only ASCII.

On `Customer.Erased` the personal columns become their erased shape and
`search` is derived again from what is left, which is what a rebuild from the
erased events gives (projections.redaction).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.account.documents import KINDS, PLAIN_LINE_KEYS
from domain.aggregates.account_document import AccountDocument
from domain.aggregates.customer import Customer
from domain.personal import erase_values
from projections.redaction import marks
from projections.storage import ViewStorage
from projections.view import Db, View, from_json, handles, iso, to_json

# What a list may be sorted by: a column of ours, never input.
SORTS = {"date": "date", "number": "number", "amount": "amount_minor", "status": "status"}
DEFAULT_SORT = "date"
PER_PAGE = 25
MAX_PER_PAGE = 100
MINOR_UNITS = Decimal(10_000)
# How many of a customer's other documents a detail page looks through for links.
MAX_RELATED_SCAN = 2000


class AccountView(View):
    name = "account"
    tables = ("account_documents",)
    schema = (
        """CREATE TABLE IF NOT EXISTS account_documents (
            id TEXT PRIMARY KEY,
            customer_code TEXT NOT NULL,
            kind TEXT NOT NULL,
            number TEXT NOT NULL,
            date TEXT NOT NULL,
            status TEXT NOT NULL,
            amount TEXT,
            amount_minor BIGINT,
            currency TEXT,
            facts TEXT NOT NULL,
            text TEXT NOT NULL,
            lines TEXT NOT NULL,
            search TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            revised_at TEXT,
            revisions INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX IF NOT EXISTS account_documents_list "
        "ON account_documents (customer_code, kind, date)",
        "CREATE INDEX IF NOT EXISTS account_documents_number "
        "ON account_documents (customer_code, kind, number)",
    )

    @handles(AccountDocument.Recorded)
    def recorded(self, db: Db, e: Any, position: int) -> None:
        db.execute(
            """INSERT INTO account_documents (id, customer_code, kind, number, date, status,
                   amount, amount_minor, currency, facts, text, lines, search, recorded_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO NOTHING""",
            (str(e.originator_id), e.customer_code, e.kind, e.number,
             *_content(e.number, e.facts, e.text, e.lines), iso(e.timestamp)),
        )

    @handles(AccountDocument.Revised)
    def revised(self, db: Db, e: Any, position: int) -> None:
        row = db.one("SELECT number FROM account_documents WHERE id = ?", (str(e.originator_id),))
        if row is None:
            return
        db.execute(
            """UPDATE account_documents SET date = ?, status = ?, amount = ?, amount_minor = ?,
                   currency = ?, facts = ?, text = ?, lines = ?, search = ?, revised_at = ?,
                   revisions = revisions + 1
               WHERE id = ?""",
            (*_content(row["number"], e.facts, e.text, e.lines), iso(e.timestamp),
             str(e.originator_id)),
        )

    @handles(Customer.Erased)
    def erased(self, db: Db, e: Any, position: int) -> None:
        rows = db.all(f"SELECT id, number, facts, text, lines FROM account_documents "
                      f"WHERE customer_code IN ({marks(e.codes)})", e.codes)
        for row in rows:
            text = erase_values(from_json(row["text"]) or {})
            lines = erase_values(from_json(row["lines"]) or [], PLAIN_LINE_KEYS)
            words = _search(row["number"], from_json(row["facts"]) or {}, text, lines)
            db.execute("UPDATE account_documents SET text = ?, lines = ?, search = ? "
                       "WHERE id = ?", (to_json(text), to_json(lines), words, row["id"]))


def _content(number: str, facts: dict[str, Any], text: dict[str, Any],
             lines: list[dict[str, Any]]) -> tuple[Any, ...]:
    """The columns a document's content fills, in the order the statements name them."""
    amount = facts.get("amount")
    minor = int(Decimal(amount) * MINOR_UNITS) if amount else None
    return (facts.get("date") or "", facts.get("status") or "", amount, minor,
            facts.get("currency"), to_json(facts), to_json(text), to_json(lines),
            _search(number, facts, text, lines))


def _search(number: str, facts: dict[str, Any], text: dict[str, Any],
            lines: list[dict[str, Any]]) -> str:
    words = [number, *(str(v) for v in facts.values()), *(str(v) for v in text.values())]
    for line in lines:
        words += [str(line.get("sku", "")), str(line.get("description", ""))]
    return "\n".join(words).lower()


# --- queries -------------------------------------------------------------------


def like_pattern(text: str) -> str:
    """`%text%` for LIKE ... ESCAPE '\\', folded like `search`."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _row(row: dict[str, Any]) -> dict[str, Any]:
    row["facts"] = from_json(row.get("facts")) or {}
    row["text"] = from_json(row.get("text")) or {}
    row["lines"] = from_json(row.get("lines")) or []
    row.pop("search", None)
    row.pop("id", None)
    return row


def documents(storage: ViewStorage, customer_code: str, kind: str, q: str = "",
              sort: str = DEFAULT_SORT, descending: bool = True, page: int = 1,
              per_page: int = PER_PAGE) -> dict[str, Any]:
    """One customer's documents of one kind: those whose number or words hold
    `q` (any case), sorted by `sort` (date, number, amount, status; the number
    breaks ties), one page of them, with the total for paging."""
    if kind not in KINDS:
        return {"items": [], "total": 0, "page": 1, "pages": 1}
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    where, args = ["customer_code = ?", "kind = ?"], [customer_code, kind]
    if q.strip():
        where.append("search LIKE ? ESCAPE '\\'")
        args.append(like_pattern(q.strip()))
    clause = " AND ".join(where)
    [count] = storage.query(f"SELECT COUNT(*) AS n FROM account_documents WHERE {clause}", args)
    total = int(count["n"])
    pages = max(1, -(-total // per_page))
    page = max(1, min(int(page), pages))
    column = SORTS.get(sort, SORTS[DEFAULT_SORT])
    way = "DESC" if descending else "ASC"
    # NULL amounts (a return without one) last either way, as both stores agree to.
    order = (f"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, {column} {way}, number {way}")
    rows = storage.query(
        f"SELECT * FROM account_documents WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
        [*args, per_page, (page - 1) * per_page])
    return {"items": [_row(r) for r in rows], "total": total, "page": page, "pages": pages}


def document(storage: ViewStorage, customer_code: str, kind: str,
             number: str) -> dict[str, Any] | None:
    """One document of this customer, or None: another customer's number is
    not found, exactly like an unknown one."""
    rows = storage.query("SELECT * FROM account_documents WHERE customer_code = ? AND kind = ? "
                         "AND number = ?", (customer_code, kind, number))
    return _row(rows[0]) if rows else None


def counts(storage: ViewStorage, customer_code: str) -> dict[str, int]:
    """How many documents of each kind a customer has (every kind, zeros too)."""
    found = {r["kind"]: int(r["n"]) for r in storage.query(
        "SELECT kind, COUNT(*) AS n FROM account_documents WHERE customer_code = ? "
        "GROUP BY kind", (customer_code,))}
    return {kind: found.get(kind, 0) for kind in KINDS}


def related(storage: ViewStorage, customer_code: str, kind: str,
            number: str) -> list[dict[str, Any]]:
    """This customer's other documents naming this one (an order's shipments,
    invoices and returns; an invoice's payments), for the detail page's links."""
    field = {"order": "order", "invoice": "invoice"}.get(kind)
    if field is None:
        return []
    rows = storage.query("SELECT kind, number, date, status, facts FROM account_documents "
                         "WHERE customer_code = ? AND kind <> ? ORDER BY date, number LIMIT ?",
                         (customer_code, kind, MAX_RELATED_SCAN))
    return [{"kind": r["kind"], "number": r["number"], "date": r["date"],
             "status": r["status"]}
            for r in rows if (from_json(r["facts"]) or {}).get(field) == number]
