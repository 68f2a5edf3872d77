"""OpenAPI path of the phone answer's completion (电话解决), merged into
read_api.openapi's document by read_api/__init__."""

from __future__ import annotations

from typing import Any

from domain.field_service.handlers import MAX_MINUTES
from read_api.openapi import _body, _command, _object
from read_api.openapi_field import LONG_LINE, REF

PHONE_PATHS: dict[str, Any] = {
    "/service-requests/{ref}/phone-resolution": {"post": _command(
        "Complete a phone-mode job (电话解决) with the answer's summary and the minutes it "
        "took (the engineer or agent who answered, once); counted in the wage settlement at "
        "the phone rate; a job of another mode is a 422",
        _body(("summary", "minutes"), summary=LONG_LINE,
              minutes={"type": "integer", "minimum": 1, "maximum": MAX_MINUTES}),
        _object(("reference", "stage"), reference={"type": "string"},
                stage={"type": "string"}),
        status="201", path=REF)},
}
