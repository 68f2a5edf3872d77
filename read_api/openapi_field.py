"""OpenAPI paths of field service and spare parts (issue 16), merged into
read_api.openapi's document.  Limits are the domain's (domain.field_service,
domain.parts), so what the schema allows the API accepts."""

from __future__ import annotations

from typing import Any

from domain.aggregates.field_job import MODES, STAGES, WARRANTY
from domain.aggregates.part_stock import CONDITIONS
from domain.field_service.handlers import (
    MAX_DISTANCE_KM,
    MAX_LEVEL,
    MAX_MINUTES,
    MAX_NAME,
    MAX_TEXT,
    MAX_TRACKING,
)
from domain.parts.handlers import MAX_LABEL, MAX_QTY
from read_api.openapi import (
    _STORABLE_SPACE,
    DATE,
    EMAIL,
    LINE,
    MOMENT,
    NOTHING,
    NULLABLE_TEXT,
    REFERENCE,
    SERIAL,
    TEXT,
    _body,
    _command,
    _enum,
    _list,
    _nullable,
    _object,
    _op,
    _string,
)

SKU = _string(f"^[{_STORABLE_SPACE}]*[A-Za-z0-9][A-Za-z0-9._-]{{0,63}}[{_STORABLE_SPACE}]*$",
              example="FAN-220V")
SKU_PATH = _string("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", example="FAN-220V")
WAREHOUSE = _string(f"^[{_STORABLE_SPACE}]*[A-Za-z0-9][A-Za-z0-9._-]{{0,31}}"
                    f"[{_STORABLE_SPACE}]*$", example="BJ")
LONG_LINE = {**LINE, "maxLength": MAX_TEXT}
DISTANCE = {"type": ["number", "null"], "minimum": 0, "maximum": MAX_DISTANCE_KM,
            "description": "kilometres travelled, for the wage settlement"}
QTY = {"type": "integer", "minimum": 1, "maximum": MAX_QTY}
PRICE = {"anyOf": [
    {"type": "number", "minimum": 0, "maximum": 10_000_000},
    _string("^[0-9]{1,8}(\\.[0-9]{1,2})?$", example="350.00"),
    {"type": "null"},
]}
# An engineer's email, or team:CODE.  The example names nobody in the demo, so that
# the fuzzer's admin never dispatches a demo request to a real engineer and then
# (rightly) gets 403 on that engineer's own steps.
ENGINEER = {**LINE, "example": "nobody.engineer@ledgerdesk.example"}
PART_USED = {
    "type": "object", "required": ["sku", "warehouse", "qty"], "additionalProperties": False,
    "properties": {"sku": SKU, "warehouse": WAREHOUSE,
                   "qty": {"type": "integer", "minimum": 1, "maximum": 1000},
                   "faulty_serials": _list(_string(maxLength=64))},
}
FIELD_JOB = _object(
    ("reference", "customer_code", "mode", "stage", "engineer", "appointment_at", "visit",
     "warranty"),
    reference={"type": "string"}, customer_code={"type": "string"}, product=NULLABLE_TEXT,
    mode=_enum(MODES), stage=_enum(STAGES), engineer=NULLABLE_TEXT,
    appointment_at=NULLABLE_TEXT, visit={"type": "integer"}, warranty=_enum(WARRANTY),
    distance_km={"type": ["number", "null"]}, reports={"type": "integer"},
    updated_at={"type": "string"},
)
STOCK = {"type": "object", "additionalProperties": {"type": "integer"}}
PART = _object(("sku", "stock"), sku={"type": "string"}, stock=STOCK, faulty=STOCK,
               held=_list(_object(("engineer", "reference", "qty"), engineer={"type": "string"},
                                  reference={"type": "string"}, qty={"type": "integer"})))
REF = {"ref": REFERENCE}
EMPTY_BODY = _body(())  # `{}`: no fields
TRACKING = {**TEXT, "maxLength": MAX_TRACKING}


def _job(summary: str, body: dict[str, Any], status: str = "200",
         ok: dict[str, Any] = NOTHING) -> dict[str, Any]:
    return {"post": _command(summary, body, ok, status=status, path=REF)}


FIELD_PATHS: dict[str, Any] = {
    "/service-requests/{ref}/intake": _job(
        "Hotline intake (coordinators): symptom, warranty (`unknown` is checked against the "
        "installed base: the request's product and its warranty end), level, service mode; "
        "for paid service (`mode: paid`) `price_policy` and `price_accepted` are required",
        _body(("symptom", "warranty", "mode"), symptom=LONG_LINE, warranty=_enum(WARRANTY),
              level=_nullable({**TEXT, "maxLength": MAX_LEVEL}), mode=_enum(MODES),
              price_policy=_nullable({**LINE, "maxLength": MAX_TEXT}), price=PRICE,
              price_accepted={"type": ["boolean", "null"]},
              accepted_by={**TEXT, "maxLength": MAX_NAME}),
        status="201",
        ok=_object(("reference", "warranty"), reference={"type": "string"},
                   warranty=_enum(WARRANTY))),
    "/service-requests/{ref}/dispatch": _job(
        "Dispatch an engineer (an active user with role engineer) or `team:CODE` "
        "(coordinators); 409 when the job is dispatched already",
        _body(("engineer",), engineer=ENGINEER, appointment_at=_nullable(MOMENT),
              distance_km=DISTANCE, expected_version={"type": ["integer", "null"]})),
    "/service-requests/{ref}/dispatch/accept": _job(
        "Accept the dispatch (the dispatched engineer, or a member of the dispatched team)",
        EMPTY_BODY),
    "/service-requests/{ref}/dispatch/decline": _job(
        "Decline the dispatch with a reason (the dispatched engineer); never shown to the "
        "customer", _body(("reason",), reason=LINE)),
    "/service-requests/{ref}/appointment": _job(
        "Book the appointment agreed with the customer (the engineer or a coordinator)",
        _body(("appointment_at",), appointment_at=MOMENT,
              note={**TEXT, "maxLength": MAX_TEXT})),
    "/service-requests/{ref}/visit/start": _job("Start the on-site visit (the engineer)",
                                                EMPTY_BODY),
    "/service-requests/{ref}/visit/end": _job("End the visit (the engineer)",
                                              _body((), distance_km=DISTANCE)),
    "/service-requests/{ref}/unit/received": _job(
        "Carry-in / mail-in: the unit arrived (staff), with the courier's tracking number",
        _body((), tracking_number=TRACKING, carrier=TRACKING)),
    "/service-requests/{ref}/unit/repaired": _job(
        "Carry-in / mail-in: the unit is repaired (the engineer)", EMPTY_BODY),
    "/service-requests/{ref}/unit/returned": _job(
        "Carry-in / mail-in: the unit went back to the customer (after the report)",
        _body((), tracking_number=TRACKING, carrier=TRACKING)),
    "/service-requests/{ref}/service-report": _job(
        "The service report of this visit (the engineer), signed by the customer: parts "
        "used must have been issued to the engineer for this request, and are consumed; "
        "`signature` is the drawn signature as a PNG (base64 or a data: URL, at most "
        "512 KB); faulty_serials at most qty per part",
        _body(("cause", "actions", "parts", "minutes", "signed_by"), cause=LONG_LINE,
              actions=LONG_LINE, parts={**_list(PART_USED), "maxItems": 50},
              minutes={"type": "integer", "minimum": 1, "maximum": MAX_MINUTES},
              signed_by=LONG_LINE, signature=TEXT, distance_km=DISTANCE),
        status="201"),
    "/service-requests/{ref}/second-visit": _job(
        "An unfinished repair needs a second visit, with its reason (engineer or "
        "coordinator)", _body(("reason",), reason=LINE)),
    "/service-requests/{ref}/field-job": {"get": _op(
        "The request's field job: mode, stage, engineer, appointment, visit", FIELD_JOB,
        errors=("404", "401", "403", "405"), path=REF)},
    "/field-jobs/mine": {"get": _op(
        "The caller's field jobs (engineers), open ones first",
        _object(("items",), items=_list(FIELD_JOB)))},
    "/products/{serial}/agreements": {"post": _command(
        "Add a service agreement (服务协议) covering the unit from starts_on to ends_on "
        "(not before it); a warranty stated `unknown` at intake is checked against it",
        _body(("code", "starts_on", "ends_on"),
              code=_string("^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$", example="SA-2026-01"),
              starts_on=DATE, ends_on=DATE, level=_nullable({**TEXT, "maxLength": MAX_LEVEL})),
        status="201", path={"serial": SERIAL})},
    # --- spare parts (备件库)
    "/parts": {"get": _op("Every part with its stock per warehouse",
                          _object(("items",), items=_list(_object(
                              ("sku", "stock"), sku={"type": "string"}, stock=STOCK,
                              faulty=STOCK, held={"type": "integer"}))))},
    "/parts/{sku}": {"get": _op("A part's stock per warehouse, faulty returns, and what "
                                "engineers hold", PART, errors=("404", "401", "403", "405"),
                                path={"sku": SKU_PATH})},
    "/parts/{sku}/receive": {"post": _command(
        "Receive parts into a warehouse (admins)",
        _body(("warehouse", "qty"), warehouse=WAREHOUSE, qty=QTY), path={"sku": SKU_PATH})},
    "/parts/{sku}/issue": {"post": _command(
        "Issue parts to an engineer for a request (admins and coordinators); 422 when the "
        "warehouse has fewer",
        _body(("warehouse", "engineer", "qty", "reference"), warehouse=WAREHOUSE,
              engineer=EMAIL, qty=QTY, reference=REFERENCE), path={"sku": SKU_PATH})},
    "/parts/{sku}/return": {"post": _command(
        "Return parts: `unused` back on the shelf (from what the engineer holds, for "
        "`reference` when given), `faulty` with its fault label (旧件标签, required)",
        _body(("warehouse", "engineer", "qty", "condition"), warehouse=WAREHOUSE,
              engineer=EMAIL, qty=QTY, condition=_enum(CONDITIONS),
              fault_label={**TEXT, "maxLength": MAX_LABEL}, reference=_nullable(REFERENCE)),
        path={"sku": SKU_PATH})},
}
