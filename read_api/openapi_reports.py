"""OpenAPI paths of the reports, merged into read_api.openapi's document."""

from __future__ import annotations

from typing import Any

from read_api.openapi import (
    _COUNT,
    CODE_PATTERN,
    DAY_OR_MOMENT,
    EMPTY,
    QUERY_ERRORS,
    _list,
    _object,
    _op,
    _string,
)

_SECONDS = {"type": ["number", "null"]}
_BASIS = {"type": "string", "enum": ["wall_clock", "business_time"],
          "description": "business_time: seconds within the business hours of [sla]"}
_TIMES = _object(("count", "median_seconds", "p90_seconds"), count=_COUNT,
                 median_seconds=_SECONDS, p90_seconds=_SECONDS, basis=_BASIS,
                 wall_clock=_object(("median_seconds", "p90_seconds"),
                                    median_seconds=_SECONDS, p90_seconds=_SECONDS))
_COMPLIANCE = {"within": _COUNT, "breached": _COUNT, "pending": _COUNT,
               "compliance": {"type": ["number", "null"], "minimum": 0, "maximum": 1}}
_BUCKET = {"type": ["integer", "null"], "description": "upper bound; null: the open last bucket"}
REPORT_SUMMARY = _object(
    ("from", "to", "team", "time_basis", "volume", "first_response", "resolution", "sla",
     "backlog", "satisfaction", "urges", "workload"),
    **{"from": {"type": "string"}, "to": {"type": "string"}},
    team={"type": ["string", "null"]},
    time_basis=_BASIS,
    volume=_object(("total", "by_channel", "by_type"), total=_COUNT,
                   by_channel={"type": "object", "additionalProperties": _COUNT},
                   by_type={"type": "object", "additionalProperties": _COUNT}),
    first_response={**_TIMES, "properties": {**_TIMES["properties"], "histogram": _list(
        _object(("upto_seconds", "count"), upto_seconds=_BUCKET, count=_COUNT))}},
    resolution=_TIMES,
    sla=_object(("within", "breached", "pending", "compliance"), **_COMPLIANCE,
                resolution=_object(tuple(_COMPLIANCE), **_COMPLIANCE)),
    backlog=_object(("total", "by_age"), total=_COUNT, by_age=_list(
        _object(("upto_days", "count"), upto_days=_BUCKET, count=_COUNT))),
    satisfaction=_object(("count", "average", "distribution"), count=_COUNT,
                         average={"type": ["number", "null"]},
                         distribution={"type": "object", "additionalProperties": _COUNT}),
    urges=_object(("count",), count=_COUNT),
    workload=_list(_object(("agent", "open_assigned", "replies_sent", "resolved"),
                           agent={"type": "string"}, open_assigned=_COUNT,
                           replies_sent=_COUNT, resolved=_COUNT)),
)

REPORT_PATHS: dict[str, Any] = {
    "/reports/summary": {"get": _op(
        "Volume by channel and type, first-response and resolution times (median, "
        "p90, in seconds of business time, wall-clock beside), SLA compliance, backlog "
        "by age, satisfaction, urges and workload per agent (staff and auditors)",
        REPORT_SUMMARY,
        errors=("400", *QUERY_ERRORS),
        query={"from": {"anyOf": [DAY_OR_MOMENT, EMPTY],
                        "description": "a date (inclusive) or a date-time with its zone; "
                                       "default: 30 days before `to`"},
               "to": {"anyOf": [DAY_OR_MOMENT, EMPTY],
                      "description": "a date (the whole day included) or a date-time "
                                     "(excluded); default: now"},
               "team": {"anyOf": [_string(CODE_PATTERN), EMPTY],
                        "description": "only requests last transferred to this team"}},
    )},
}
