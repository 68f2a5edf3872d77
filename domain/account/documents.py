"""What an ERP document must hold, kind by kind: the one validation every entry
point shares (the `erp import` CLI checks each line with it before building a
command, so its error names the line's field; the handler checks again, since
a command may come from anywhere).

A document is split the way its event stores it (domain.aggregates.account_document):
`facts` are plain (dates, amounts, statuses, numbers of related documents,
carriers, tracking numbers), `text` is personal (addresses, names, notes,
reasons), and `lines` are order lines whose SKU, quantity and unit price are
plain and whose description is personal.  Values are normalised (amounts as
canonical decimal text, currencies upper case, dates ISO), so the same document
exported twice with cosmetic differences ("12.5" and "12.50") is the same.

Amounts are text decimals, never floats: a float cannot hold 0.10 exactly, and
a JSON NaN is not a number anyone owes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from domain.errors import invalid
from domain.text import unsafe_character

KINDS: Final = ("order", "shipment", "invoice", "payment", "return")

STATUSES: Final[dict[str, tuple[str, ...]]] = {
    "order": ("open", "confirmed", "shipped", "completed", "cancelled"),
    "shipment": ("preparing", "shipped", "in_transit", "delivered", "returned"),
    "invoice": ("open", "partially_paid", "paid", "overdue", "cancelled"),
    "payment": ("pending", "received", "failed", "refunded"),
    "return": ("requested", "approved", "received", "refunded", "rejected", "closed"),
}

# Per kind: facts that must be there, facts that may.  `amount` implies `currency`.
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "order": ("amount",),
    "shipment": ("order", "carrier", "tracking_number"),
    "invoice": ("amount",),
    "payment": ("amount",),
    "return": ("order",),
}
OPTIONAL_FACTS: Final = ("order", "invoice", "due_date", "method", "carrier",
                         "tracking_number", "amount", "shipped_on", "delivered_on")
DATE_FACTS: Final = ("due_date", "shipped_on", "delivered_on")
# Personal text: who and where, and whatever people wrote.
TEXT_FIELDS: Final = ("ship_to", "contact", "note", "reason")
LINE_KINDS_REQUIRED: Final = ("order",)
PLAIN_LINE_KEYS: Final = frozenset({"sku", "qty", "unit_price"})

NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/#-]{0,63}\Z")
SKU = NUMBER
WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._&()/-]{0,79}\Z")  # carriers, payment methods
CURRENCY = re.compile(r"^[A-Z]{3}\Z")
DECIMAL = re.compile(r"^-?[0-9]{1,13}(\.[0-9]{1,4})?\Z")
MAX_TEXT = 1000
MAX_DESCRIPTION = 500
MAX_LINES = 500
MAX_QTY = 1_000_000


@dataclass(frozen=True)
class Document:
    kind: str
    number: str
    facts: dict[str, Any]
    text: dict[str, str]
    lines: list[dict[str, Any]]


def checked_kind(kind: str) -> str:
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        raise invalid("kind", f"kind must be one of {', '.join(KINDS)}")
    return kind


def checked_document(kind: str, record: Mapping[str, Any]) -> Document:
    """The document `record` describes, normalised, or InvalidInput naming the
    first field that is wrong.  Unknown fields are refused: a typo in a column
    name must not drop a value silently."""
    kind = checked_kind(kind)
    known = {"number", "date", "status", "currency", "lines", *OPTIONAL_FACTS, *TEXT_FIELDS}
    unknown = sorted(set(record) - known)
    if unknown:
        raise invalid(unknown[0], f"{unknown[0]} is not a field of an ERP {kind}")
    number = checked_number(record.get("number"), "number")
    facts: dict[str, Any] = {
        "date": checked_date(record.get("date"), "date", required=True),
        "status": checked_status(kind, record.get("status")),
    }
    for name in REQUIRED[kind]:
        if _blank(record.get(name)):
            raise invalid(name, f"{name} is required for the kind {kind}")
    if not _blank(record.get("amount")):
        facts["amount"] = checked_amount(record.get("amount"), "amount")
        facts["currency"] = checked_currency(record.get("currency"))
    elif not _blank(record.get("currency")):
        raise invalid("amount", "a currency without an amount: give the amount too")
    for name in ("order", "invoice", "tracking_number"):
        if not _blank(record.get(name)):
            facts[name] = checked_number(record.get(name), name)
    for name in ("carrier", "method"):
        if not _blank(record.get(name)):
            facts[name] = checked_word(record.get(name), name)
    for name in DATE_FACTS:
        if not _blank(record.get(name)):
            facts[name] = checked_date(record.get(name), name)
    text = {name: checked_text(record.get(name), name, MAX_TEXT)
            for name in TEXT_FIELDS if not _blank(record.get(name))}
    lines = checked_lines(record.get("lines"), required=kind in LINE_KINDS_REQUIRED)
    return Document(kind, number, facts, text, lines)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(field, f"{field} must be text")
    value = str(value).strip()
    bad = unsafe_character(value)
    if bad is not None:
        raise invalid(field, f"{field} contains a control character (U+{ord(bad):04X})")
    return value


def checked_number(value: Any, field: str) -> str:
    if _blank(value):
        raise invalid(field, f"{field} is required")
    text = _text(value, field)
    if not NUMBER.match(text):
        raise invalid(field, f"{field} is 1 to 64 letters, digits, '.', '_', '/', '#' or '-'")
    return text


def checked_word(value: Any, field: str) -> str:
    text = _text(value, field)
    if not WORD.match(text):
        raise invalid(field, f"{field} is 1 to 80 letters, digits, spaces and . _ & ( ) / -")
    return text


def checked_text(value: Any, field: str, limit: int) -> str:
    text = _text(value, field)
    if len(text) > limit:
        raise invalid(field, f"{field} is at most {limit} characters")
    return text


def checked_date(value: Any, field: str, required: bool = False) -> str | None:
    if _blank(value):
        if required:
            raise invalid(field, f"{field} is required")
        return None
    try:
        return date.fromisoformat(_text(value, field)).isoformat()
    except ValueError:
        raise invalid(field, f"{field} must be a date like 2026-11-23") from None


def checked_status(kind: str, value: Any) -> str:
    allowed = STATUSES[kind]
    status = "" if _blank(value) else _text(value, "status").lower()
    if status not in allowed:
        raise invalid("status", f"status of the kind {kind} is one of {', '.join(allowed)}")
    return status


def checked_amount(value: Any, field: str) -> str:
    """Canonical decimal text with at least two places: "12.5" -> "12.50"."""
    if isinstance(value, float | bool):
        raise invalid(field, f"{field} must be a decimal written as text, like \"1234.50\"")
    text = _text(value, field).replace(",", "") if isinstance(value, str) else str(value)
    if not DECIMAL.match(text):
        raise invalid(field, f"{field} must be a decimal like 1234.50 (at most 4 places)")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise invalid(field, f"{field} must be a decimal like 1234.50") from None
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return str(amount)


def checked_currency(value: Any) -> str:
    if _blank(value):
        raise invalid("currency", "currency is required with an amount (CNY, EUR...)")
    currency = _text(value, "currency").upper()
    if not CURRENCY.match(currency):
        raise invalid("currency", "currency is a three-letter code such as CNY or EUR")
    return currency


def checked_lines(value: Any, required: bool) -> list[dict[str, Any]]:
    if value is None or value == []:
        if required:
            raise invalid("lines", "an order needs at least one line (sku, description, qty)")
        return []
    if not isinstance(value, list) or len(value) > MAX_LINES:
        raise invalid("lines", f"lines is a list of at most {MAX_LINES} items")
    checked = []
    for n, line in enumerate(value, start=1):
        field = f"lines[{n}]"
        if not isinstance(line, Mapping):
            raise invalid(field, f"{field} must be an object with sku, description and qty")
        unknown = sorted(set(line) - {"sku", "description", "qty", "unit_price"})
        if unknown:
            raise invalid(f"{field}.{unknown[0]}", f"{field}.{unknown[0]} is not a line field")
        item: dict[str, Any] = {
            "sku": checked_number(line.get("sku"), f"{field}.sku"),
            "description": checked_text(line.get("description") or "", f"{field}.description",
                                        MAX_DESCRIPTION),
            "qty": checked_qty(line.get("qty"), f"{field}.qty"),
        }
        if not item["description"]:
            raise invalid(f"{field}.description", f"{field}.description is required")
        if not _blank(line.get("unit_price")):
            item["unit_price"] = checked_amount(line.get("unit_price"), f"{field}.unit_price")
        checked.append(item)
    return checked


def checked_qty(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(field, f"{field} must be a whole number")
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_QTY:
        raise invalid(field, f"{field} must be a whole number from 1 to {MAX_QTY:,}")
    return int(text)
