"""The OpenAPI document of /api/v1, written out rather than generated: it is
the contract, so it should read like one.

It is exact: what it allows, the API accepts, and what it forbids, the API
refuses with the error it lists (tests/integration/test_openapi_fuzz.py fuzzes
every operation against it).  So the fixed words come from the domain's own
lists, and the string patterns say what the domain checks: no control
characters in any stored text (domain.text), "not blank" where the domain
strips and refuses an empty value, the reference, serial and code shapes of
domain.ids and the aggregates.  Patterns are written with explicit character
classes (no \\s, \\d or \\w), which mean different things to Python, to
JavaScript and to other JSON Schema validators.
"""

from __future__ import annotations

from typing import Any

from domain.aggregates.installed_product import PRODUCT_STATUSES
from domain.aggregates.knowledge import KINDS
from domain.phones import PHONE_PATTERN
from domain.vocabulary import (
    CHANNELS,
    CUSTOMER_CLASSIFICATIONS,
    CUSTOMER_KINDS,
    PRIORITIES,
    REQUEST_TYPES,
    ROLES,
    STATUSES,
)

INBOX_MAX_LIMIT = 200
AUDIT_ACTOR_MAX_LENGTH = 320
AUDIT_MAX_LIMIT = 5000
KB_MAX_LIMIT = 50
KB_QUERY_MAX_LENGTH = 200
CURSOR_MAX_LENGTH = 200

# --- what text may hold ---------------------------------------------------------------

# domain.text refuses C0 controls other than tab, newline and carriage return, and DEL.
_CONTROL = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f"
# What Python's str.strip() removes and str.isspace() finds: the domain's "blank".
_SPACE = (r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029"
          r"\u202f\u205f\u3000")
# The blanks a stored value may hold (leading and trailing ones are stripped).
_STORABLE_SPACE = r"\t\n\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"

TEXT_PATTERN = f"^[^{_CONTROL}]*$"
LINE_PATTERN = f"^[^{_CONTROL}]*[^{_CONTROL}{_SPACE}][^{_CONTROL}]*$"
CODE_PATTERN = f"^[{_STORABLE_SPACE}]*[^{_CONTROL}{_SPACE}]{{1,64}}[{_STORABLE_SPACE}]*$"
SERIAL_PATTERN = f"^[{_STORABLE_SPACE}]*[A-Za-z0-9][A-Za-z0-9._/-]{{1,63}}[{_STORABLE_SPACE}]*$"
MODEL_PATTERN = (f"^[{_STORABLE_SPACE}]*[^{_CONTROL}{_SPACE}]"
                 f"([^{_CONTROL}]{{0,98}}[^{_CONTROL}{_SPACE}])?[{_STORABLE_SPACE}]*$")
EMAIL_PATTERN = f"^[{_STORABLE_SPACE}]*[^ {_CONTROL}]*@[^ {_CONTROL}]*[{_STORABLE_SPACE}]*$"
NUMBER_PATTERN = PHONE_PATTERN  # what domain.phones reads; kept in E.164
REFERENCE_PATTERN = "^SR-[0-9]{6,}$"
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# RFC 3339 with its zone, in years 0002-9998: every such moment exists in UTC too.
MOMENT_PATTERN = ("^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}"
                  "|99[0-8][0-9])-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?"
                  "([Zz]|[+-][0-9]{2}:[0-9]{2})$")


def _string(pattern: str = TEXT_PATTERN, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "pattern": pattern, **extra}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "enum" in schema:
        return {**schema, "type": [schema["type"], "null"], "enum": [*schema["enum"], None]}
    return {**schema, "type": [schema["type"], "null"]}


def _enum(values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


TEXT = _string()
LINE = _string(LINE_PATTERN)
TEAM_CODE = _string("^[a-z0-9][a-z0-9_-]{0,31}$")
CODE = _string(CODE_PATTERN, example="HUAXIN")
REFERENCE = _string(REFERENCE_PATTERN, example="SR-000001")
SERIAL = _string(SERIAL_PATTERN, example="MX3000-2024-00817")
EMAIL = _string(EMAIL_PATTERN, example="agent@ledgerdesk.example")
NUMBER = _string(NUMBER_PATTERN, example="+86 10 6655 0101")
DATE = _string(DATE_PATTERN, format="date")
MOMENT = _string(MOMENT_PATTERN, format="date-time", example="2026-11-23T09:00:00+08:00")
# A day in the years the stores' timestamps can hold (as MOMENT's).
DAY = _string(MOMENT_PATTERN.split("[Tt]")[0] + "$", format="date")
DAY_OR_MOMENT = {"anyOf": [DAY, MOMENT]}
EXPECTED_VERSION = {"type": ["integer", "null"],
                    "description": "409 when the request changed since this version"}
CONFIGURATION = {
    "type": ["object", "null"],
    "description": "plain values only; null is {}",
    # The event store's JSON encoding reserves "_type_" for values it encoded itself.
    "propertyNames": {"pattern": TEXT_PATTERN, "not": {"const": "_type_"}},
    "additionalProperties": {"anyOf": [TEXT, {"type": "number"}, {"type": "boolean"}]},
}
NOTHING = {"type": "object", "additionalProperties": False}
ANY_OBJECT = {"type": "object"}
REQUEST_STATUS = _enum(STATUSES)
# A request is never sent back to "new" (domain.requests.handlers.change_status).
TARGET_STATUSES = [s for s in STATUSES if s != "new"]


def _object(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """A response object: these fields at least (the contract may add more)."""
    return {"type": "object", "required": list(required), "properties": properties}


def _body(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """A command body: exactly these fields (any other is a 400 naming it)."""
    return {"type": "object", "required": list(required), "properties": properties,
            "additionalProperties": False}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


# --- responses ----------------------------------------------------------------------

# Every answer carries these (ledgerdesk.asgi.SECURITY_HEADERS).
HEADERS = {
    "X-Content-Type-Options": {"required": True, "schema": {"type": "string", "const": "nosniff"}},
    "Referrer-Policy": {"required": True, "schema": {"type": "string", "const": "no-referrer"}},
    "Cache-Control": {"required": True, "schema": {"type": "string", "const": "no-store"}},
    "Allow": {"required": True, "schema": {"type": "string"},
              "description": "the methods this path takes"},
}
SECURITY_HEADERS = {name: {"$ref": f"#/components/headers/{name}"}
                    for name in ("X-Content-Type-Options", "Referrer-Policy", "Cache-Control")}
ERRORS = {
    "400": "invalid input; `fields` names each field at fault",
    "401": "no token, or one nobody recognises",
    "403": "the caller's roles do not allow this",
    "404": "no such thing (or not the caller's to see)",
    "405": "not a method this path takes; `Allow` lists those it does",
    "409": "a concurrent change, or something unique exists already",
    "413": "the body is over the size limit",
    "415": "the body is not application/json",
    "422": "not possible in the current state",
    "503": "not ready",
}


def _json(description: str, schema: dict[str, Any],
          headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "headers": {**SECURITY_HEADERS, **(headers or {})},
            "content": {"application/json": {"schema": schema}}}


def _error_response(status: str) -> dict[str, Any]:
    allow = {"Allow": {"$ref": "#/components/headers/Allow"}} if status == "405" else None
    return _json(ERRORS[status], {"$ref": "#/components/schemas/Error"}, allow)


def _error(status: str) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/Error{status}"}


QUERY_ERRORS = ("401", "403", "405")
COMMAND_ERRORS = ("400", "401", "403", "404", "405", "409", "413", "415", "422")


def _op(summary: str, ok: dict[str, Any], *, status: str = "200",
        errors: tuple[str, ...] = QUERY_ERRORS, path: dict[str, dict[str, Any]] | None = None,
        query: dict[str, dict[str, Any]] | None = None, required: tuple[str, ...] = (),
        body: dict[str, Any] | None = None, public: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": [
            *({"name": name, "in": "path", "required": True, "schema": schema}
              for name, schema in (path or {}).items()),
            *({"name": name, "in": "query", "required": name in required, "schema": schema}
              for name, schema in (query or {}).items()),
        ],
        "responses": {status: _json("success", ok), **{e: _error(e) for e in errors}},
    }
    if body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": body}}}
    if public:
        op["security"] = []
    return op


def _command(summary: str, body: dict[str, Any], ok: dict[str, Any] = NOTHING, *,
             status: str = "200", path: dict[str, dict[str, Any]] | None = None
             ) -> dict[str, Any]:
    return _op(summary, ok, status=status, errors=COMMAND_ERRORS, path=path, body=body)


_COUNT = {"type": "integer", "minimum": 0}

# A query parameter left empty (`?queue=&limit=`) is one not given.
EMPTY = {"type": "string", "maxLength": 0}


def _filter(values: tuple[str, ...]) -> dict[str, Any]:
    return _enum(["", *values])


def _limit(maximum: int) -> dict[str, Any]:
    """1 to `maximum`, digits without leading zeros (JSON Schema's integer also
    admits 3.0), or empty.  `maximum` is a digit and zeros: 50, 200, 5000."""
    digits = str(maximum)
    first, zeros = int(digits[0]), len(digits) - 1
    if digits[1:] != "0" * zeros:
        raise ValueError(f"no pattern for a maximum of {maximum}")
    shorter = [f"[1-9][0-9]{{{n}}}" for n in range(zeros)]
    as_long = [f"[1-{first - 1}][0-9]{{{zeros}}}"] if first > 1 else []
    return _string(f"^({'|'.join([*shorter, *as_long, digits])})?$",
                   description=f"a whole number from 1 to {maximum}")


# --- what the reads answer ----------------------------------------------------------------

NULLABLE_TEXT = {"type": ["string", "null"]}
INBOX_ITEM = _object(
    ("reference", "customer_code", "subject", "channel", "status", "priority", "assignee",
     "last_activity_at", "sla_due_at"),
    reference={"type": "string"}, customer_code={"type": "string"}, subject={"type": "string"},
    channel=_enum(CHANNELS), status=REQUEST_STATUS, priority=_enum(PRIORITIES),
    assignee=NULLABLE_TEXT, team=NULLABLE_TEXT, last_activity_at={"type": "string"},
    sla_due_at=NULLABLE_TEXT, awaiting_reply={"type": "boolean"},
    delivery_failed={"type": "boolean"},
    type=_enum(REQUEST_TYPES),
    # SLA timers (policies.sla_timers): a warning or a breach recorded on a running clock.
    sla_warned={"type": "boolean"}, sla_breached={"type": "boolean"},
)
TIMELINE_ENTRY = _object(
    ("at", "kind", "channel", "direction", "actor", "body", "attachments"),
    at={"type": "string"}, kind={"type": "string"}, channel=NULLABLE_TEXT,
    direction=NULLABLE_TEXT, actor=NULLABLE_TEXT, body=NULLABLE_TEXT,
    attachments=_list(ANY_OBJECT), data=ANY_OBJECT,
)
SERVICE_REQUEST = _object(
    ("reference", "customer_code", "type", "status", "channel", "subject", "assignee",
     "timeline"),
    reference={"type": "string"}, customer_code={"type": "string"}, type=_enum(REQUEST_TYPES),
    status=REQUEST_STATUS, channel=_enum(CHANNELS), subject={"type": "string"},
    assignee=NULLABLE_TEXT, team=NULLABLE_TEXT, priority=_enum(PRIORITIES),
    version={"type": "integer"}, timeline=_list(TIMELINE_ENTRY),
)
PRODUCT_ITEM = _object(
    ("serial", "model", "status", "in_warranty", "requests"),
    serial={"type": "string"}, model={"type": "string"}, name={"type": "string"},
    status=_enum(PRODUCT_STATUSES), install_address={"type": "string"},
    installed_on=NULLABLE_TEXT, warranty_until=NULLABLE_TEXT, configuration=ANY_OBJECT,
    maintainer=NULLABLE_TEXT, in_warranty={"type": ["boolean", "null"]},
    requests=_list({"type": "string"}),
)
CUSTOMER_360 = _object(
    ("code", "profile", "contacts", "channel_identities", "installed_products",
     "open_requests", "closed_requests", "recent_interactions"),
    code={"type": "string"},
    profile=_object(("name", "kind", "classification"), name={"type": "string"},
                    kind=_enum(CUSTOMER_KINDS), classification=_enum(CUSTOMER_CLASSIFICATIONS)),
    contacts=_list(ANY_OBJECT), channel_identities=_list(ANY_OBJECT), preferences=ANY_OBJECT,
    installed_products=_list(PRODUCT_ITEM), open_requests=_list(ANY_OBJECT),
    closed_requests=_list(ANY_OBJECT), recent_interactions=_list(ANY_OBJECT),
    satisfaction=_object(("ratings", "average"), ratings={"type": "integer"},
                         average={"type": ["number", "null"]}),
)
AUDIT_EVENT = _object(
    ("position", "stream", "version", "type", "actor", "at", "data", "hash"),
    position={"type": "integer"}, stream={"type": "string"}, version={"type": "integer"},
    type={"type": "string"}, actor=NULLABLE_TEXT, at={"type": "string"}, data=ANY_OBJECT,
    hash={"type": "string"},
)
ACCESS_ENTRY = _object(
    ("seq", "at", "actor", "surface", "kind", "subject", "detail", "hash"),
    seq={"type": "integer"}, at={"type": "string"}, actor={"type": "string"},
    surface={"type": "string"},
    kind=_enum(["customer_360", "service_request", "attachment", "audit_export",
                "access_export"]),
    subject={"type": "string"}, detail=ANY_OBJECT, hash={"type": "string"},
)
KB_HIT = _object(("article_id", "title", "kind", "snippet"), article_id={"type": "string"},
                 title={"type": "string"}, kind=_enum(KINDS), product=NULLABLE_TEXT,
                 snippet={"type": "string"}, score={"type": "number"})
USER = _object(
    ("email", "name", "roles", "customer_code", "active", "tokens"),
    email={"type": "string"}, name={"type": "string"}, roles=_list(_enum(ROLES)),
    customer_code=NULLABLE_TEXT, active={"type": "boolean"}, tokens=_list({"type": "string"}),
)
COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
READINESS = _object(
    ("ready",), ready={"type": "boolean"}, lag=COUNTS, positions=COUNTS,
    head={"type": "integer"}, failures=COUNTS, stalled=_list({"type": "string"}),
    running=_list({"type": "string"}), reason={"type": "string"},
)


def _page(item: dict[str, Any], key: str = "items") -> dict[str, Any]:
    return _object((key, "next_cursor"), **{key: _list(item)}, next_cursor=NULLABLE_TEXT)


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Ledgerdesk API", "version": "1"},
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "headers": HEADERS,
        "responses": {f"Error{status}": _error_response(status) for status in ERRORS},
        "schemas": {"Error": _object(("error",), error={
            **_object(("code", "message", "fields"), code={"type": "string"},
                      message={"type": "string"},
                      fields={"type": "object", "additionalProperties": {"type": "string"}}),
            "additionalProperties": False,
        })},
    },
    "security": [{"bearer": []}],
    "paths": {
        # --- probes, for anyone; the areas' paths join in read_api/__init__.py
        "/healthz": {"get": _op("Alive", _object(("status",), status={"const": "ok"}),
                                errors=("405",), public=True)},
        "/readyz": {"get": {
            **_op("Ready: projection lag and positions (503 while catching up or stalled)",
                  READINESS, errors=("405",), public=True),
            "responses": {"200": _json("ready", READINESS), "503": _json("not ready", READINESS),
                          "405": _error("405")},
        }},
        "/openapi.json": {"get": _op("This document", ANY_OBJECT, errors=("405",), public=True)},
    },
}

