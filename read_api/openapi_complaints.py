"""OpenAPI paths of complaints (投诉), reminders (预约提示) and staff
notifications, merged into read_api.openapi's document with one line."""

from __future__ import annotations

from typing import Any

from domain.aggregates.complaint import STATES
from domain.aggregates.notification import KINDS
from domain.complaints.policy import DEFAULT_HOURS, LEVELS, TARGETS
from read_api.openapi import (
    EMAIL,
    LINE,
    MOMENT,
    NULLABLE_TEXT,
    QUERY_ERRORS,
    REFERENCE,
    TEXT,
    _body,
    _command,
    _enum,
    _limit,
    _list,
    _nullable,
    _object,
    _op,
    _string,
)

NOTIFICATIONS_MAX_LIMIT = 200
STATE = _object(("state",), state=_enum(STATES))
ID = _string(description="as answered when it was made")
_BOOL = {"type": "boolean"}
_INT_OR_NULL = {"type": ["integer", "null"]}

COMPLAINT = _object(
    ("reference", "state", "registered_at", "category", "target", "level", "department",
     "due_at", "review_required", "overdue"),
    reference={"type": "string"}, customer_code={"type": "string"}, state=_enum(STATES),
    registered_at={"type": "string"}, category=NULLABLE_TEXT, target=NULLABLE_TEXT,
    level=NULLABLE_TEXT, department=NULLABLE_TEXT,
    due_at={**NULLABLE_TEXT, "description": "the suggested completion time, in business time"},
    review_required=_BOOL, proposed=NULLABLE_TEXT, proposed_by=NULLABLE_TEXT,
    review_comment=NULLABLE_TEXT, result_sent_at=NULLABLE_TEXT, overdue=_BOOL,
    satisfaction=_INT_OR_NULL,
)
REMINDER = _object(
    ("id", "reference", "for_user", "set_by", "at", "note", "state"),
    id={"type": "string"}, reference={"type": "string"}, for_user={"type": "string"},
    set_by={"type": "string"}, at={"type": "string"}, note={"type": "string"},
    state=_enum(("set", "fired", "cancelled")), set_at={"type": "string"},
    done_at=NULLABLE_TEXT,
)
NOTIFICATION = _object(
    ("id", "kind", "reference", "body", "sender", "created_at", "read_at"),
    id={"type": "string"}, kind=_enum(KINDS), reference={"type": "string"},
    body={"type": "string"}, sender={"type": "string", "description": "who urged, or who set "
                                     "the reminder"}, created_at={"type": "string"},
    read_at=NULLABLE_TEXT, mail=_enum(("pending", "mailed", "failed")),
)
REF = {"ref": REFERENCE}
ERRORS_404 = ("404", *QUERY_ERRORS)

COMPLAINT_PATHS: dict[str, Any] = {
    "/service-requests/{ref}/complaint": {
        "get": _op("The request's complaint record (投诉), staff and auditors", COMPLAINT,
                   errors=ERRORS_404, path=REF),
        "post": _command(
            "Classify a complaint: category × level give the suggested completion time "
            "(business time, from its registration), the target its department (the request "
            "goes to that team); `review`: a manager approves the result first (default: as "
            "configured for the level). Refused (422) on a request that is not a complaint or "
            "a complaint already answered",
            _body(("category", "target", "level"), category=_enum(tuple(DEFAULT_HOURS)),
                  target=_enum(TARGETS), level=_enum(LEVELS), review=_nullable(_BOOL)),
            STATE, path=REF),
    },
    "/service-requests/{ref}/complaint/handle": {"post": _command(
        "The department takes the classified complaint into handling (受理)", _body(), STATE,
        path=REF)},
    "/service-requests/{ref}/complaint/result": {"post": _command(
        "The result for the customer: sent as a reply on their channel (the request is "
        "resolved and the satisfaction survey follows), or held for review (`state`: "
        "in_review)", _body(("body",), body=LINE), STATE, path=REF)},
    "/service-requests/{ref}/complaint/review": {"post": _command(
        "A manager other than its author approves the result (it is sent) or sends it back "
        "to handling with a comment (领导批阅)",
        _body(("approved",), approved=_BOOL, comment=TEXT), STATE, path=REF)},
    "/service-requests/{ref}/complaint/close": {"post": _command(
        "Close an answered complaint (and the resolved request)", _body(), STATE, path=REF)},
    "/service-requests/{ref}/reminders": {
        "get": _op("The request's reminders (预约提示), pending first",
                   _object(("items",), items=_list(REMINDER)), errors=ERRORS_404, path=REF),
        "post": _command(
            "Set a reminder at a time to come, for oneself or (`for`) a colleague; shown in "
            "their notifications and mailed when it falls due",
            _body(("at", "note"), at=MOMENT, note=LINE, **{"for": _nullable(EMAIL)}),
            _object(("id",), id={"type": "string"}), status="201", path=REF),
    },
    "/service-requests/{ref}/reminders/{id}/cancel": {"post": _command(
        "Cancel a pending reminder (whoever set it, its recipient, a manager or an admin)", _body(),
        path={"ref": REFERENCE, "id": ID})},
    "/notifications": {"get": _op(
        "My notifications (urges, reminders), newest first, and how many are unread",
        _object(("items", "unread"), items=_list(NOTIFICATION),
                unread={"type": "integer", "minimum": 0}),
        errors=("400", *QUERY_ERRORS),
        query={"limit": _limit(NOTIFICATIONS_MAX_LIMIT),
               "unread": _enum(("", "true", "false"))})},
    "/notifications/{id}/read": {"post": _command(
        "Mark one of my notifications read", _body(), path={"id": ID})},
}
