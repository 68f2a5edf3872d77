"""OpenAPI paths of escalation, the customer's satisfaction rating and the
customer's follow-up (channels.web.api_request_actions), merged into
read_api.openapi's document with one line."""

from __future__ import annotations

from typing import Any

from read_api.openapi import (
    EXPECTED_VERSION,
    LINE,
    MOMENT,
    REFERENCE,
    TEXT,
    _body,
    _command,
    _nullable,
)

REF = {"ref": REFERENCE}

REQUEST_ACTION_PATHS: dict[str, Any] = {
    "/service-requests/{ref}/escalate": {"post": _command(
        "Escalate a request (staff): status escalated, at `level` (default: one above the "
        "last) and, with `due_at`, a time by which it must be answered; listed in the "
        "inbox's `escalated` queue. Refused (422) on a closed request",
        _body(("reason",), reason={**LINE, "maxLength": 2000},
              level=_nullable({"type": "integer", "minimum": 1, "maximum": 99}),
              due_at=_nullable(MOMENT), expected_version=EXPECTED_VERSION),
        path=REF)},
    "/service-requests/{ref}/satisfaction": {"post": _command(
        "The customer rates a resolved request of their organisation, 1 to 5: once per "
        "resolution (as the portal and the survey link); refused (422) on an open request "
        "or one already rated, 404 for another organisation's request",
        _body(("score",), score={"type": "integer", "minimum": 1, "maximum": 5},
              comment={**TEXT, "maxLength": 2000}, expected_version=EXPECTED_VERSION),
        status="201", path=REF)},
    "/service-requests/{ref}/follow-ups": {"post": _command(
        "The customer adds a message to their organisation's request, as the portal's "
        "follow-up form (a resolved request opens again); 404 for another organisation's",
        _body(("body",), body={**LINE, "maxLength": 20000}), status="201", path=REF)},
}
