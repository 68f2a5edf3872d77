"""What read models do when a customer is erased (domain.customers.erasure).

The rule every view keeps: the rows after an erasure are the rows a rebuild
from the log gives, since a rebuild reads the erased customer's events with
placeholders (domain.sealing).  Two ways to keep it:

- rows with one event each (timeline, audit) are *re-derived*: the view reads
  those events again (`View.reread`) and writes their rows anew;
- state rows overwrite their personal columns with `erase_values` of what is
  there, which is what the mapper's placeholders give for a value copied
  verbatim from an event (empty stays empty, dict keys and list lengths stay).
  A view must not keep text derived from a personal value in a state row.

The handler of `Customer.Erased` runs on a rebuild too, over rows that are
erased already; `erase_values` is idempotent, so both paths agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.personal import ERASED, erase_values
from projections.view import Db, from_json, to_json


def marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def erased_text_sql(column: str) -> str:
    """SQL for `erase_values` of a text column."""
    return f"CASE WHEN {column} IS NULL OR {column} = '' THEN {column} ELSE '{ERASED}' END"


def erase_json_columns(
    db: Db, table: str, key: str, key_value: Any, columns: dict[str, frozenset[str]]
) -> None:
    """Overwrite JSON columns of one row with their erased shape (`columns`: name
    -> dict keys whose values stay)."""
    row = db.one(f"SELECT {', '.join(columns)} FROM {table} WHERE {key} = ?", (key_value,))
    if row is None:
        return
    assignments = ", ".join(f"{column} = ?" for column in columns)
    values = [to_json(erase_values(from_json(row[c]), keep)) for c, keep in columns.items()]
    db.execute(f"UPDATE {table} SET {assignments} WHERE {key} = ?", (*values, key_value))
