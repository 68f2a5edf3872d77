"""Reading JSON command bodies: one object per request, fields checked by type.

Every failure is an InvalidInput naming the field, so the caller gets a 400
that says what to fix.  What the values mean is for the domain to judge.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request

from domain.errors import invalid

MAX_BODY_BYTES = 1024 * 1024


async def json_object(request: Request) -> dict[str, Any]:
    raw = await _body(request)
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise invalid("body", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("body", "the request body must be a JSON object")
    return body


async def _body(request: Request) -> bytes:
    """The body, refused as soon as it passes the limit rather than after
    holding all of it in memory."""
    too_large = invalid("body", f"the request body is over {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise too_large
    return bytes(raw)


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


def text_list(body: dict[str, Any], field: str) -> list[str]:
    value = body.get(field) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(field, f"{field} must be a list of strings")
    return value


def expected_version(body: dict[str, Any]) -> int | None:
    value = body.get("expected_version")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise invalid("expected_version", "expected_version must be a whole number")
    return value


def moment(body: dict[str, Any], field: str) -> datetime:
    """An ISO-8601 date and time with its zone (a bare local time is ambiguous)."""
    value = text(body, field)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(field, f"{field} must be an ISO-8601 date and time") from None
    if parsed.tzinfo is None:
        raise invalid(field, f"{field} needs a time zone (e.g. 2026-11-23T09:00:00+08:00)")
    return parsed
