"""Reading JSON command bodies: one object per request, fields checked by type.

A body that is not `application/json` is refused with 415 and one over the
limit with 413, before it is parsed; every other failure is an InvalidInput
naming the field, so the caller gets a 400 that says what to fix.  The shape of
each value (its type, a date's spelling, how deep it nests) is checked here, so
a command only ever carries the types it declares; what the values mean is for
the domain to judge.  The OpenAPI document (read_api/openapi.py) states the
same rules, and the fuzz test holds the two together.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from starlette.requests import Request

from domain import phones
from domain.errors import DomainError, InvalidInput, invalid
from domain.text import MAX_DEPTH

MAX_BODY_BYTES = 1024 * 1024
JSON_MEDIA_TYPE = "application/json"
# The event store's JSON encoding marks values it encoded itself with this key:
# a free-form object holding it could be decoded as something else on replay.
RESERVED_KEY = "_type_"
# RFC 3339, as JSON Schema's date and date-time formats read it; Python's
# fromisoformat alone also takes week dates, a space for the T and more.
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Years in which every moment, whatever its zone, also exists in UTC.
MOMENT_YEARS = (2, 9998)
MOMENT_PATTERN = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


class BodyTooLarge(DomainError):
    """413: the body passed the limit, and was not read any further."""

    code = "too_large"


class UnsupportedMediaType(DomainError):
    """415: a command body must be JSON; this is also what stops a cross-site
    form post, which cannot send application/json."""

    code = "unsupported_media_type"


async def json_object(request: Request, accepted: Collection[str] = ()) -> dict[str, Any]:
    """The body as an object whose fields are all in `accepted` (by default none:
    a command without fields takes `{}` or an empty body)."""
    require_json(request)
    raw = await _body(request)
    try:
        body = json.loads(raw or b"{}")
    except RecursionError:
        raise invalid("body", f"the request body is nested more than {MAX_DEPTH} deep") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError, an integer too long to read
        raise invalid("body", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("body", "the request body must be a JSON object")
    unknown = sorted(set(body) - set(accepted))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}",
                           fields={name: f"{name} is not a field of this command"
                                   for name in unknown})
    for field, value in body.items():
        _check_json_value(field, value)
    return body


def require_json(request: Request) -> None:
    """`application/json`, with no charset or UTF-8 (the only one JSON has)."""
    media_type, *parameters = request.headers.get("content-type", "").split(";")
    charsets = [value.strip().strip('"').lower() for name, _, value in
                (p.partition("=") for p in parameters) if name.strip().lower() == "charset"]
    if media_type.strip().lower() != JSON_MEDIA_TYPE or any(
            c not in ("utf-8", "utf8") for c in charsets):
        message = "send the body as application/json (UTF-8)"
        raise UnsupportedMediaType(message, fields={"content-type": message})


async def _body(request: Request) -> bytes:
    """The body, refused as soon as it passes the limit rather than after
    holding all of it in memory."""
    declared = request.headers.get("content-length", "")
    # ASCII digits only: "²".isdigit() is true too, and int() refuses it.
    if declared.isascii() and declared.isdigit() and (
            len(declared) > len(str(MAX_BODY_BYTES)) or int(declared) > MAX_BODY_BYTES):
        raise _too_large()
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise _too_large()
    return bytes(raw)


def _too_large() -> BodyTooLarge:
    message = f"the request body is over {MAX_BODY_BYTES} bytes"
    return BodyTooLarge(message, fields={"body": message})


def _check_json_value(field: str, value: Any) -> None:
    """Refuse what JSON cannot carry back out: NaN and the infinities (Python's
    parser takes NaN, Infinity and 1e999 without complaint), and nesting deeper
    than anything a command holds.  Iterative, so depth itself cannot break it."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise invalid(field, f"{field} is nested more than {MAX_DEPTH} deep")
        if isinstance(item, float) and not math.isfinite(item):
            raise invalid(field, f"{field} must be a finite number (NaN and Infinity are not JSON)")
        if isinstance(item, dict):
            pending.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            pending.extend((v, depth + 1) for v in item)


def text(body: dict[str, Any], field: str, default: str | None = None) -> str:
    """A string field; required unless a default is given."""
    value = body.get(field, default)
    if value is None:
        raise invalid(field, f"{field} is required")
    if not isinstance(value, str):
        raise invalid(field, f"{field} must be a string")
    return value


def optional_text(body: dict[str, Any], field: str) -> str | None:
    """A string field that may be absent, null or empty (all mean "not given")."""
    if body.get(field) is None:
        return None
    return text(body, field) or None


def nonempty_text(body: dict[str, Any], field: str) -> str:
    """A required string naming something (an id): "" names nothing."""
    value = text(body, field)
    if not value:
        raise invalid(field, f"{field} must not be empty")
    return value


def optional_choice(body: dict[str, Any], field: str) -> str | None:
    """A string naming something (a channel, a reference, a code) that may be
    absent or null; when given it may not be empty, for "" names nothing."""
    if body.get(field) is None:
        return None
    value = text(body, field)
    if not value:
        raise invalid(field, f"{field} must not be empty (leave it out or send null)")
    return value


def text_list(body: dict[str, Any], field: str) -> list[str]:
    """A list of strings; absent or null is an empty list."""
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(field, f"{field} must be a list of strings")
    return value


def number_list(body: dict[str, Any], field: str) -> list[str]:
    """Phone or fax numbers, each in E.164 (domain.phones); an unparsable one is
    refused naming `field`."""
    return [phone_number(field, number) for number in text_list(body, field)]


def phone_number(field: str, number: str) -> str:
    """`number` in E.164 (`010-66550101` -> `+861066550101`), or a 400 naming `field`.
    The API takes the shapes domain.phones.PHONE_PATTERN allows (its OpenAPI says so)."""
    require_digit(field, number)
    if not phones.looks_like_number(number):
        raise invalid(field, f"{field}: {number!r} is not a phone number: give it with "
                             "+ and the country code, or with 0 and the area code")
    try:
        return phones.normalise_number(number)
    except phones.UnparsableNumber:
        raise invalid(field, f"{field}: {number!r} is not a phone number") from None


def require_digit(field: str, number: str) -> str:
    if not any("0" <= c <= "9" for c in number):
        raise invalid(field, f"{field}: a number needs at least one digit 0-9")
    return number


def expected_version(body: dict[str, Any]) -> int | None:
    value = body.get("expected_version")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise invalid("expected_version", "expected_version must be a whole number")
    return value


def moment(body: dict[str, Any], field: str) -> datetime:
    """An RFC 3339 date and time with its zone (a bare local time is ambiguous)."""
    value = text(body, field)
    if not MOMENT_PATTERN.fullmatch(value):
        raise invalid(field, f"{field} must be a date and time with its zone, "
                             "e.g. 2026-11-23T09:00:00+08:00")
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        raise invalid(field, f"{field} is not a date and time that exists") from None
    # Events and views keep UTC: a moment that has none (year 9999 west of
    # Greenwich, year 1 east of it) would fail in every view that reads it.
    if not MOMENT_YEARS[0] <= parsed.year <= MOMENT_YEARS[1]:
        raise invalid(field, f"{field} must be in the years {MOMENT_YEARS[0]} to "
                             f"{MOMENT_YEARS[1]}")
    return parsed


def optional_moment(body: dict[str, Any], field: str) -> datetime | None:
    return None if body.get(field) is None else moment(body, field)


def optional_date(body: dict[str, Any], field: str) -> str | None:
    """A calendar date, YYYY-MM-DD, or null."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not DATE_PATTERN.fullmatch(value):
        raise invalid(field, f"{field} must be a date like 2026-11-23, or null")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise invalid(field, f"{field} is not a date that exists") from None


def plain_object(body: dict[str, Any], field: str) -> dict[str, Any]:
    """A free-form object of plain values (string, number, true/false); null is {}.
    Such objects are stored in events and shown back in reads, so nothing in
    them may be something JSON or the event store cannot give back."""
    value = body.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(v, str | int | float) for v in value.values()):
        raise invalid(field, f"{field} must be an object of strings, numbers and true/false")
    if RESERVED_KEY in value:
        raise invalid(field, f"{field} may not use the key {RESERVED_KEY}")
    return value
