"""The OpenAPI document of /api/v1, written out rather than generated: it is
the contract, so it should read like one."""

from __future__ import annotations

from typing import Any

from domain.aggregates.installed_product import PRODUCT_STATUSES
from domain.vocabulary import CHANNELS, REQUEST_TYPES, STATUSES

_ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, *, params: tuple[str, ...] = (), body: dict[str, Any] | None = None,
        ok: str = "200", path: tuple[str, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": [
            *({"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
              for p in path),
            *({"name": p, "in": "query", "schema": {"type": "string"}} for p in params),
        ],
        "responses": {
            ok: {"description": "success", "content": {"application/json": {"schema": {
                "type": "object"}}}},
            **{code: {"description": text, "content": {"application/json": {"schema": _ERROR}}}
               for code, text in (("400", "invalid input"), ("401", "no or bad token"),
                                  ("403", "not allowed"), ("404", "unknown reference"),
                                  ("409", "concurrent change"), ("422", "not in this state"))},
        },
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"type": "object", **body}}}}
    return op


def _props(required: tuple[str, ...], **props: dict[str, Any]) -> dict[str, Any]:
    return {"required": list(required), "properties": props}


_S = {"type": "string"}
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Ledgerdesk API", "version": "1"},
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Error": {"type": "object", "properties": {"error": {
            "type": "object", "properties": {"code": _S, "message": _S,
                                             "fields": {"type": "object"}}}}}},
    },
    "security": [{"bearer": []}],
    "paths": {
        "/inbox": {"get": _op("Agent queues", params=("queue", "channel", "status", "limit",
                                                      "cursor"))},
        "/service-requests": {"post": _op("Open a service request", ok="201", body=_props(
            ("customer_code", "type", "subject"), customer_code=_S,
            type={"type": "string", "enum": list(REQUEST_TYPES)}, subject=_S, description=_S,
            channel={"type": "string", "enum": list(CHANNELS)}))},
        "/service-requests/{ref}": {"get": _op("A request and its timeline", path=("ref",))},
        "/service-requests/{ref}/replies": {"post": _op(
            "Queue a reply on the channel of the customer's latest message, or on `channel`",
            ok="202", path=("ref",), body=_props(
                ("body",), body=_S, channel={"type": "string", "enum": list(CHANNELS)},
                expected_version={"type": "integer"}))},
        "/service-requests/{ref}/notes": {"post": _op(
            "Add an internal note", ok="201", path=("ref",), body=_props(("body",), body=_S))},
        "/service-requests/{ref}/assign": {"post": _op(
            "Assign or transfer", path=("ref",), body=_props(("agent",), agent=_S))},
        "/service-requests/{ref}/status": {"post": _op(
            "Change status", path=("ref",), body=_props(("status",), status={
                "type": "string", "enum": list(STATUSES)}))},
        "/customers": {"post": _op("Register a customer", ok="201", body=_props(
            ("code", "name"), code=_S, name=_S, kind=_S, classification=_S))},
        "/customers/{code}/360": {"get": _op("Customer 360", path=("code",))},
        "/customers/{code}/products": {"post": _op(
            "Register an installed product", ok="201", path=("code",), body=_props(
                ("serial", "model"), serial=_S, model=_S, name=_S, install_address=_S,
                installed_on={"type": "string", "format": "date"},
                warranty_until={"type": "string", "format": "date"},
                configuration={"type": "object"}, maintainer=_S))},
        "/products/{serial}": {"patch": _op(
            "Change an installed product's details", path=("serial",), body=_props(
                (), model=_S, name=_S, install_address=_S, installed_on=_S, warranty_until=_S,
                configuration={"type": "object"}, maintainer=_S))},
        "/products/{serial}/status": {"post": _op(
            "Change a product's running status", path=("serial",), body=_props(
                ("status",), status={"type": "string", "enum": list(PRODUCT_STATUSES)},
                reason=_S))},
        "/products/{serial}/transfer": {"post": _op(
            "Move a product to another customer", path=("serial",),
            body=_props(("customer_code",), customer_code=_S))},
        "/calls": {"post": _op("Log a call (CTI webhook); idempotent by call_id", ok="201",
                               body=_props(("call_id", "direction", "number", "started_at"),
                                           call_id=_S, direction=_S, number=_S,
                                           started_at=_S, ended_at=_S, notes=_S,
                                           reference=_S))},
        "/audit": {"get": _op("Audit trail", params=("customer", "request", "limit",
                                                     "cursor"))},
        "/audit/verify": {"get": _op("Verify the hash chain")},
        "/kb/search": {"get": _op("Knowledge search (Chinese and English)",
                                  params=("q", "kind", "limit"))},
    },
}
