"""The fields a fax form carries, found in its OCR text.

Labels come in English and Chinese (客户编号, 回电电话, 序列号...), and OCR
misreads the usual suspects (O for 0, l or I for 1, a long dash for a hyphen),
so the patterns are lenient where a reading is unambiguous and strict where
a wrong value would do harm: a reference is `SR-` and six or more digits, a
number has at least six digits.  The sender's fax number comes from the
gateway or the command line when they know it, else from the header line a
fax machine prints across the top of each page.
"""

from __future__ import annotations

import re

DASH = r"[-‐‑‒–—―_~=]"
# After a label: maybe the same label in the other language, then a colon.
_THEN = r"(?:[^:：\n]{0,30}[:：])?\s*"
# Digit groups joined by hyphens (OCR puts spaces round them); a space alone ends
# the number, since a header prints the date right after it.
_NUMBER = r"(\+?\(?[0-9]+\)?(?:\s?[-–—]\s?\(?[0-9]+\)?)*)"
_REFERENCE = re.compile(rf"\bS\s?R\s?{DASH}?\s?([0-9OoIl|]{{6,12}})\b")
_CUSTOMER = re.compile(
    r"(?:customer\s*(?:code|no\.?|number|id)|客户\s*(?:编号|代码|编码|号))" + _THEN
    + r"([A-Z][A-Z0-9-]{1,30})", re.IGNORECASE)
_PHONE = re.compile(
    r"(?:call\s*-?\s*back(?:\s*(?:number|no\.?|phone|tel))?|phone|tel(?:ephone)?|"
    r"回\s*电(?:\s*电\s*话)?|联\s*系\s*电\s*话|电\s*话)" + _THEN + _NUMBER, re.IGNORECASE)
_SERIAL = re.compile(
    r"(?:serial(?:\s*(?:no\.?|number))?|s\s*/\s*n|序\s*列\s*号|机\s*身\s*号)" + _THEN
    + r"([A-Z0-9][A-Z0-9-]{3,30})", re.IGNORECASE)
_HEADER_FAX = re.compile(r"(?:from|fax|传\s*真)" + _THEN + _NUMBER, re.IGNORECASE)
MIN_DIGITS = 6
HEADER_LINES = 3


def extract_fields(text: str, sender_number: str = "") -> dict[str, str]:
    """What was found, by FAX_FIELDS name (domain.requests.fax); a field not
    found is left out."""
    found: dict[str, str] = {}
    reference = _REFERENCE.search(text)
    if reference:
        found["reference"] = "SR-" + _digits(reference.group(1))
    customer = _CUSTOMER.search(text)
    if customer:
        found["customer_code"] = customer.group(1).upper().strip("-")
    phone = _PHONE.search(text)
    if phone and _enough(phone.group(1)):
        found["phone"] = number(phone.group(1))
    serial = _SERIAL.search(text)
    if serial:
        found["serial"] = serial.group(1).upper().strip("-")
    sender = number(sender_number) if sender_number else header_number(text)
    if sender:
        found["sender_number"] = sender
    return found


def header_number(text: str) -> str:
    head = "\n".join(text.splitlines()[:HEADER_LINES])
    match = _HEADER_FAX.search(head)
    return number(match.group(1)) if match and _enough(match.group(1)) else ""


def _enough(raw: str) -> bool:
    return sum(c.isdigit() for c in raw) >= MIN_DIGITS


def number(raw: str) -> str:
    """Digits and hyphens as printed (a leading + kept); spaces and brackets go."""
    cleaned = re.sub(r"[–—]", "-", raw.strip())
    cleaned = re.sub(r"[^\d+\-]", "", cleaned)
    cleaned = re.sub(r"-{2,}", "-", cleaned).strip("-")
    return ("+" if cleaned.startswith("+") else "") + cleaned.lstrip("+")


def _digits(raw: str) -> str:
    return raw.translate(str.maketrans("OoIl|", "00111"))
