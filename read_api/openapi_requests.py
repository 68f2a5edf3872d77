"""OpenAPI paths of service requests: the agents' inbox, a request and its
timeline, and the commands on it (replies, notes, assignment, transfer, urges,
status), calls from the CTI; merged into read_api.openapi's document."""

from __future__ import annotations

from typing import Any

from domain.vocabulary import (
    CALL_DIRECTIONS,
    CHANNELS,
    PRIORITIES,
    REQUEST_TYPES,
    STATUSES,
)
from projections.queries import INBOX_SORTS, QUEUES
from read_api.openapi import (
    _COUNT,
    CODE,
    CURSOR_MAX_LENGTH,
    EMAIL,
    EXPECTED_VERSION,
    INBOX_ITEM,
    INBOX_MAX_LIMIT,
    LINE,
    MOMENT,
    NUMBER,
    QUERY_ERRORS,
    REFERENCE,
    SERVICE_REQUEST,
    TARGET_STATUSES,
    TEXT,
    _body,
    _command,
    _enum,
    _filter,
    _limit,
    _nullable,
    _object,
    _op,
    _page,
    _string,
)

REQUEST_PATHS: dict[str, Any] = {
    "/inbox": {"get": _op(
        "Agent queues: open requests, newest activity first", _page(INBOX_ITEM),
        errors=("400", *QUERY_ERRORS),
        query={"queue": {"anyOf": [_filter(QUEUES), {
                   "type": "string", "pattern": "^team:[a-z0-9][a-z0-9_-]{0,31}$",
                   "description": "a team's queue (what was transferred to team:CODE)"}]},
               "channel": _filter(CHANNELS),
               "status": _filter(STATUSES), "sort": _filter(tuple(INBOX_SORTS)),
               "limit": _limit(INBOX_MAX_LIMIT),
               "cursor": {"type": "string", "maxLength": CURSOR_MAX_LENGTH,
                          "pattern": "^[A-Za-z0-9_-]*$",
                          "description": "opaque: a next_cursor this API gave out"}},
    )},
    "/service-requests/{ref}": {"get": _op(
        "A request and its timeline", SERVICE_REQUEST, errors=("404", *QUERY_ERRORS),
        path={"ref": REFERENCE},
    )},
    "/service-requests": {"post": _command(
        "Open a service request", _body(
            ("customer_code", "type", "subject"), customer_code=CODE,
            type=_enum(REQUEST_TYPES), subject=LINE, description=TEXT,
            channel=_enum(CHANNELS), priority=_enum(PRIORITIES), product=_nullable(TEXT)),
        _object(("reference",), reference=REFERENCE), status="201",
    )},
    "/service-requests/{ref}/replies": {"post": _command(
        "Queue a reply on the channel of the customer's latest message, or on `channel`",
        _body(("body",), body=LINE, channel=_nullable(_enum(CHANNELS)),
              expected_version=EXPECTED_VERSION),
        _object(("reply_id",), reply_id={"type": "string"}), status="202",
        path={"ref": REFERENCE},
    )},
    "/service-requests/{ref}/notes": {"post": _command(
        "Add an internal note (never sent to the customer)",
        _body(("body",), body=LINE, expected_version=EXPECTED_VERSION),
        status="201", path={"ref": REFERENCE},
    )},
    "/service-requests/{ref}/assign": {"post": _command(
        "Assign, or transfer to another member of staff",
        _body(("agent",), agent=EMAIL, reason=TEXT, expected_version=EXPECTED_VERSION),
        path={"ref": REFERENCE},
    )},
    "/service-requests/{ref}/transfer": {"post": _command(
        "Transfer (业务移交) to a member of staff (`to`: an email) or to a team's queue "
        "(`to`: `team:CODE`, which clears the assignee); 404 for an unknown user or team",
        _body(("to", "reason"), to=LINE, reason=LINE, expected_version=EXPECTED_VERSION),
        path={"ref": REFERENCE},
    )},
    "/service-requests/{ref}/urge": {"post": _command(
        "Urge (催办) a request (managers and admins); counted in reports",
        _body(("message",), message=LINE, expected_version=EXPECTED_VERSION),
        path={"ref": REFERENCE},
    )},
    "/users/{email}/hand-over": {"post": _command(
        "Transfer every open request this person holds (admins and managers), one "
        "transfer each; answers how many moved",
        _body(("to", "reason"), to=LINE, reason=LINE),
        _object(("transferred",), transferred=_COUNT), path={"email": EMAIL},
    )},
    "/service-requests/{ref}/status": {"post": _command(
        "Change status (`reason` is internal)",
        _body(("status",), status=_enum(TARGET_STATUSES), reason=TEXT,
              expected_version=EXPECTED_VERSION),
        path={"ref": REFERENCE},
    )},
    "/calls": {"post": _command(
        "Log a call (CTI webhook); idempotent by call_id; ended_at is not before started_at",
        _body(("call_id", "direction", "number", "started_at"),
              call_id=_string(minLength=1), direction=_enum(CALL_DIRECTIONS), number=NUMBER,
              agent=_nullable(TEXT), started_at=MOMENT, ended_at=_nullable(MOMENT),
              notes=TEXT, reference=_nullable(REFERENCE), customer_code=_nullable(CODE)),
        _object(("reference", "duplicate"), reference=REFERENCE,
                duplicate={"type": "boolean"}), status="201",
    )},
}
