"""OpenAPI paths of the audit trail and the access log, merged into
read_api.openapi's document."""

from __future__ import annotations

from typing import Any

from read_api.openapi import (
    ACCESS_ENTRY,
    AUDIT_ACTOR_MAX_LENGTH,
    AUDIT_EVENT,
    AUDIT_MAX_LIMIT,
    CODE_PATTERN,
    DAY_OR_MOMENT,
    EMPTY,
    NULLABLE_TEXT,
    QUERY_ERRORS,
    REFERENCE_PATTERN,
    TEXT_PATTERN,
    _limit,
    _object,
    _op,
    _page,
    _string,
)

AUDIT_PATHS: dict[str, Any] = {
    "/audit": {"get": _op(
        "Every event matching all the filters given (none: the whole trail), in order, "
        "with the chain hash. An unknown customer or request is 404; an actor who did "
        "nothing in the period gives an empty page.", _page(AUDIT_EVENT, "events"),
        errors=("400", "404", *QUERY_ERRORS),
        query={"customer": {"anyOf": [_string(CODE_PATTERN), EMPTY]},
               "request": {"anyOf": [_string(REFERENCE_PATTERN), EMPTY]},
               "actor": _string(TEXT_PATTERN, maxLength=AUDIT_ACTOR_MAX_LENGTH,
                                description="who did it: a user's email, or e.g. system"),
               "since": {"anyOf": [DAY_OR_MOMENT, EMPTY],
                         "description": "a date (inclusive) or a date-time with its zone"},
               "until": {"anyOf": [DAY_OR_MOMENT, EMPTY],
                         "description": "a date (the whole day included) or a date-time"},
               "limit": _limit(AUDIT_MAX_LIMIT),
               "cursor": _string("^[0-9]{0,18}$", description="a position")},
    )},
    "/audit/verify": {"get": _op(
        "Verify the hash chain", _object(
            ("intact", "checked", "first_broken"), intact={"type": "boolean"},
            checked={"type": "integer"}, first_broken={"type": ["integer", "null"]},
            head_hash=NULLABLE_TEXT),
    )},
    "/audit/access": {"get": _op(
        "The access log: who read which customer's 360, which request, which audit "
        "export, when and through which surface (auditors, admins, managers). Filters as "
        "/audit's; customer and request name the record read.",
        _page(ACCESS_ENTRY, "entries"), errors=("400", "404", *QUERY_ERRORS),
        query={"customer": {"anyOf": [_string(CODE_PATTERN), EMPTY]},
               "request": {"anyOf": [_string(REFERENCE_PATTERN), EMPTY]},
               "actor": _string(TEXT_PATTERN, maxLength=AUDIT_ACTOR_MAX_LENGTH),
               "since": {"anyOf": [DAY_OR_MOMENT, EMPTY]},
               "until": {"anyOf": [DAY_OR_MOMENT, EMPTY]},
               "limit": _limit(AUDIT_MAX_LIMIT),
               "cursor": _string("^[0-9]{0,18}$", description="a sequence number")},
    )},
    "/audit/access/verify": {"get": _op(
        "Verify the access log's hash chain", _object(
            ("intact", "checked", "first_broken"), intact={"type": "boolean"},
            checked={"type": "integer"}, first_broken={"type": ["integer", "null"]}),
        errors=("404", *QUERY_ERRORS),
    )},
}
