"""`ledgerdesk erp import FILE`: ERP documents (orders, shipments, invoices,
payments, returns) from JSON lines or CSV into the account context.

One document kind per file, given by `--kind` or by a `kind` field on the
records (every record then says the same kind).  The format follows the
file's extension (.jsonl/.ndjson/.json: JSON lines, .csv/.tsv: CSV), else its
first character (`{`: JSON lines).  Each record names its customer by code
(`customer`); the other fields are domain.account.documents'.

JSON lines: one document per line, order lines as a `lines` array of objects.
CSV: a header row, one row per order line; rows with the same customer and
number are one document (its other columns must agree), its line in the
columns `sku`, `description`, `qty`, `unit_price`.  Empty cells are absent
values.  JSON numbers are read as their literal text, never as floats, and
NaN or Infinity is refused.

Each document is its own command: a bad one is refused with its line number
and the reason, and the others go on.  Re-importing the same file records
nothing (the handler compares a content digest).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.account.commands import RecordAccountDocument
from domain.account.documents import checked_document, checked_kind
from domain.application import Ledgerdesk
from domain.errors import DomainError, InvalidInput, invalid

ACTOR = "erp-import"
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIXES = (".csv", ".tsv")
LINE_COLUMNS = ("sku", "description", "qty", "unit_price")
# Columns that say where a record goes rather than what it is.
ROUTING = ("customer", "kind")


@dataclass
class Record:
    """One document as read from the file, before it is checked."""

    line: int
    fields: dict[str, Any]
    # CSV: the line of each row that added an order line, for error messages.
    rows: list[int] = field(default_factory=list)
    problem: InvalidInput | None = None


@dataclass
class Summary:
    recorded: int = 0
    revised: int = 0
    unchanged: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)

    def line(self) -> str:
        return (f"recorded {self.recorded}, revised {self.revised}, "
                f"unchanged {self.unchanged}, refused {len(self.refused)}")


def read_text(path: Path, encoding: str) -> str:
    try:
        return path.read_bytes().decode(encoding)
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path} is not {encoding} text (byte {e.start}); "
                           "say which encoding with --encoding") from None
    except LookupError:
        raise InvalidInput(f"no text encoding named {encoding!r}") from None


def is_json_lines(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        return True
    if suffix in CSV_SUFFIXES:
        return False
    return text.lstrip().startswith("{")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number a document may hold")


def json_records(text: str) -> Iterator[Record]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            # Literal text for every non-integer number: "12.10" stays "12.10".
            value = json.loads(raw, parse_float=str, parse_constant=_no_constants)
        except ValueError as e:
            yield Record(number, {}, problem=InvalidInput(f"not a JSON object ({e})"))
            continue
        if not isinstance(value, dict):
            yield Record(number, {}, problem=InvalidInput("not a JSON object"))
            continue
        yield Record(number, value)


def csv_records(text: str) -> Iterator[Record]:
    """Rows grouped into documents by (customer, number), in the order first seen."""
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    documents: dict[tuple[str, str], Record] = {}
    loose: list[Record] = []
    start = 2
    for row in reader:
        line, start = start, reader.line_num + 1
        if None in row:
            loose.append(Record(line, {}, problem=InvalidInput("more cells than columns")))
            continue
        cells = {k.strip(): v.strip() for k, v in row.items()
                 if k and isinstance(v, str) and v.strip()}
        item = {k: cells.pop(k) for k in LINE_COLUMNS if k in cells}
        key = (cells.get("customer", ""), cells.get("number", ""))
        found = documents.get(key)
        if found is None or not key[1]:
            found = Record(line, {**cells, "lines": []})
            if key[1]:
                documents[key] = found
            else:
                loose.append(found)
        elif found.problem is None:
            differs = sorted(k for k in set(cells) | set(found.fields) - {"lines"}
                             if cells.get(k) != found.fields.get(k))
            if differs:
                found.problem = invalid(differs[0], f"{differs[0]} on line {line} differs from "
                                        f"line {found.line} of the same document")
        if item:
            found.fields["lines"].append(item)
            found.rows.append(line)
    yield from sorted([*documents.values(), *loose], key=lambda r: r.line)


def import_file(app: Ledgerdesk, path: Path, kind: str | None = None,
                encoding: str = "utf-8-sig") -> Summary:
    """Record every document of the file; what each came to is in the summary."""
    text = read_text(path, encoding)
    records = json_records(text) if is_json_lines(path, text) else csv_records(text)
    file_kind = checked_kind(kind) if kind else None
    summary = Summary()
    for record in records:
        try:
            if record.problem is not None:
                raise record.problem
            file_kind = file_kind or _kind_of(record)
            outcome = _record(app, record, file_kind)
        except DomainError as e:
            summary.refused.append(_reason(e, record))
            continue
        setattr(summary, outcome, getattr(summary, outcome) + 1)
    return summary


def _kind_of(record: Record) -> str:
    given = record.fields.get("kind")
    if not isinstance(given, str) or not given.strip():
        raise invalid("kind", "no kind: give --kind or a kind field")
    return checked_kind(given)


def _record(app: Ledgerdesk, record: Record, kind: str) -> str:
    fields = dict(record.fields)
    given = fields.pop("kind", None)
    if given is not None and str(given).strip().lower() != kind:
        raise invalid("kind", f"kind {given} in a file of {kind} documents (one kind per file)")
    customer = fields.pop("customer", None)
    if not isinstance(customer, str) or not customer.strip():
        raise invalid("customer", "customer (the customer's code) is required")
    # Checked here as well as in the handler, so that the reason names the
    # document's own field rather than the command's.
    checked_document(kind, fields)
    outcome: str = app.handle(RecordAccountDocument(customer.strip(), kind, fields, ACTOR))
    return outcome


def _reason(error: DomainError, record: Record) -> tuple[int, str]:
    """The line to blame (for a CSV order line, its own row) and the message,
    with the field it concerns when the message does not name it."""
    name = next(iter(error.fields), "")
    line = record.line
    if name.startswith("lines[") and record.rows:
        index = int(name[6:name.index("]")]) - 1
        if 0 <= index < len(record.rows):
            line = record.rows[index]
    message = error.message if not name or name in error.message else f"{name}: {error.message}"
    return line, message
