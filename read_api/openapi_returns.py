"""The OpenAPI paths of the returns (RMA) and quality workflows and of the
engineers' wage settlement, merged into read_api.openapi's document."""

from __future__ import annotations

from typing import Any

from domain.aggregates.quality_case import ORIGINS, QUALITY_STATUSES
from domain.aggregates.return_case import DECISIONS, STAGES


def returns_paths() -> dict[str, Any]:
    """The paths; built when the document is (read_api.openapi imports this module
    at its end, so its helpers are imported here, when they exist)."""
    from read_api.openapi import (
        CODE_PATTERN,
        DAY_OR_MOMENT,
        EMPTY,
        LINE,
        LINE_PATTERN,
        MODEL_PATTERN,
        NULLABLE_TEXT,
        PRODUCT_ITEM,
        QUERY_ERRORS,
        REFERENCE,
        SERIAL,
        TEXT,
        _body,
        _command,
        _enum,
        _filter,
        _list,
        _nullable,
        _object,
        _op,
        _string,
    )

    QC_CODE = _string("^QC-[0-9A-F]{8}$", example="QC-1A2B3C4D")
    _STEP = _object(("reference", "stage"), reference={"type": "string"}, stage=_enum(STAGES))
    RETURN_CASE = _object(
        ("reference", "customer_code", "stage", "cause", "decision", "approved"),
        reference={"type": "string"}, customer_code={"type": "string"}, serial=NULLABLE_TEXT,
        model=NULLABLE_TEXT, stage=_enum(STAGES), cause={"type": "string"},
        findings={"type": "string"}, engineer={"type": "string"},
        decision=_nullable(_enum(DECISIONS)), reason={"type": "string"}, judged_by=NULLABLE_TEXT,
        approved={"type": ["boolean", "null"]}, approved_by=NULLABLE_TEXT,
        comment={"type": "string"},
    )
    QUALITY_CASE = _object(
        ("code", "source_reference", "origin", "product", "batch", "symptom", "teams", "status",
         "conclusion"),
        code={"type": "string"}, source_reference={"type": "string"}, origin=_enum(ORIGINS),
        product={"type": "string"}, batch={"type": "string"}, serial=NULLABLE_TEXT,
        symptom={"type": "string"}, teams=_list({"type": "string"}),
        status=_enum(QUALITY_STATUSES), raised_by={"type": "string"},
        raised_at={"type": "string"}, investigator=NULLABLE_TEXT, conclusion={"type": "string"},
        concluded_at=NULLABLE_TEXT, updated_at={"type": "string"},
    )
    count = {"type": "integer", "minimum": 0}
    money = _string("^[0-9]+(\\.[0-9]+)?$", description="a decimal amount in `currency`")
    part = _object(("reference", "visit", "sku", "qty", "faulty_serials", "replaced_at"),
                   reference={"type": "string"}, visit={"type": "integer"},
                   sku={"type": "string"}, warehouse={"type": "string"}, qty=count,
                   faulty_serials=_list({"type": "string"}), engineer={"type": "string"},
                   replaced_at={"type": "string"})
    # a service agreement (服务协议) of the unit and whether it is in force today
    agreement = _object(("code", "starts_on", "ends_on", "in_force"), code={"type": "string"},
                        level=NULLABLE_TEXT, starts_on={"type": "string"},
                        ends_on={"type": "string"}, in_force={"type": "boolean"})
    product = {**PRODUCT_ITEM, "required": [*PRODUCT_ITEM["required"], "parts"],
               "properties": {**PRODUCT_ITEM["properties"], "parts": _list(part),
                              "agreements": _list(agreement),
                              "customer_code": {"type": "string"}}}
    settlement = _object(
        ("from", "to", "currency", "engineers", "totals", "jobs"),
        **{"from": {"type": "string"}, "to": {"type": "string"}},
        currency={"type": "string"},
        engineers=_list(_object(("engineer", "jobs", "minutes", "amount"),
                                engineer={"type": "string"}, jobs=count, minutes=count,
                                amount=money, by_mode={"type": "object",
                                                       "additionalProperties": count})),
        totals=_object(("jobs", "minutes", "amount"), jobs=count, minutes=count, amount=money),
        jobs=_list(_object(("reference", "visit", "engineer", "mode", "minutes", "distance_km",
                            "completed_at", "band", "amount"),
                           reference={"type": "string"}, visit={"type": "integer"},
                           engineer={"type": "string"}, mode={"type": "string"},
                           minutes=count, distance_km={"type": ["number", "null"]},
                           completed_at={"type": "string"}, band={"type": "string"},
                           amount=money)),
    )
    _QC_STATE = _object(("code", "status"), code={"type": "string"},
                        status=_enum(QUALITY_STATUSES))

    return {
        # --- the engineers' wage settlement (服务工资结算) and the unit's history
        "/reports/settlement": {"get": _op(
            "Per engineer, the completed jobs (signed service reports), minutes and amount "
            "for a period, priced by mode and distance band ([settlement] rates); managers, "
            "admins and auditors", settlement, errors=("400", *QUERY_ERRORS),
            query={"from": {"anyOf": [DAY_OR_MOMENT, EMPTY],
                            "description": "a date (inclusive) or a date-time with its zone; "
                                           "default: 30 days before `to`"},
                   "to": {"anyOf": [DAY_OR_MOMENT, EMPTY],
                          "description": "a date (the whole day included) or a date-time "
                                         "(excluded); default: now"}},
        )},
        "/products/{serial}": {"get": _op(
            "One installed unit with its repair history (requests) and the parts replaced "
            "on it (from service reports); a customer only their organisation's",
            product, errors=("404", *QUERY_ERRORS), path={"serial": _string(LINE_PATTERN)},
        )},
        # --- return and exchange (RMA, 退换货)
        "/service-requests/{ref}/diagnosis": {"post": _command(
            "The engineer's diagnosis of a return (engineers only; refused without a known "
            "cause; may be corrected until the technical centre judges)",
            _body(("cause",), cause={**LINE, "maxLength": 500},
              findings={**TEXT, "maxLength": 10_000}), _STEP, status="201",
            path={"ref": REFERENCE},
        )},
        "/service-requests/{ref}/judgement": {"post": _command(
            "The technical centre's judgement (return, exchange, repair, reject), after the "
            "diagnosis; agents of team technical_centre when it exists, managers",
            _body(("decision", "reason"), decision=_enum(DECISIONS), reason=LINE),
            _object(("reference", "stage", "decision"), reference={"type": "string"},
                    stage=_enum(STAGES), decision=_enum(DECISIONS)),
            path={"ref": REFERENCE},
        )},
        "/service-requests/{ref}/approval": {"post": _command(
            "A manager's approval of the judgement, once; an approved return or exchange is "
            "handed to the commercial process (event CommercialHandOff)",
            _body(("approved",), approved={"type": "boolean"},
              comment={**TEXT, "maxLength": 10_000}),
            _object(("reference", "approved"), reference={"type": "string"},
                    approved={"type": "boolean"}),
            path={"ref": REFERENCE},
        )},
        "/service-requests/{ref}/return": {"get": _op(
            "The return case of a request: stage, diagnosis, judgement, approval (staff and "
            "auditors)", RETURN_CASE, errors=("404", *QUERY_ERRORS), path={"ref": REFERENCE},
        )},
        # --- quality feedback (质量反馈)
        "/quality-cases": {
            "post": _command(
                "Raise a major quality problem found in a repair or an escalation; it goes to "
                "the quality and product teams",
                _body(("source_reference", "origin", "product", "batch", "symptom"),
                      source_reference=REFERENCE, origin=_enum(ORIGINS),
                      product=_string(MODEL_PATTERN, maxLength=100),
                      batch={**LINE, "maxLength": 200}, symptom={**LINE, "maxLength": 10_000},
                      serial={"anyOf": [SERIAL, EMPTY, {"type": "null"}]}),
                _QC_STATE, status="201",
            ),
            "get": _op(
                "Quality cases, newest first (staff and auditors)",
                _object(("items",), items=_list(QUALITY_CASE)), errors=("400", *QUERY_ERRORS),
                query={"team": {"anyOf": [_string(CODE_PATTERN), EMPTY],
                                "description": "a team code (quality, product) or team:CODE"},
                       "status": _filter(QUALITY_STATUSES)},
            ),
        },
        "/quality-cases/{code}": {"get": _op(
            "One quality case", QUALITY_CASE, errors=("404", *QUERY_ERRORS),
            path={"code": _string(LINE_PATTERN)},
        )},
        "/quality-cases/{code}/investigation": {"post": _command(
            "Start the investigation of an open quality case",
            _body((), note={**TEXT, "maxLength": 10_000}), _QC_STATE,
            path={"code": QC_CODE},
        )},
        "/quality-cases/{code}/conclusion": {"post": _command(
            "Conclude a quality case under investigation", _body(("conclusion",),
                                                       conclusion={**LINE, "maxLength": 10_000}),
            _QC_STATE, path={"code": QC_CODE},
        )},
    }
