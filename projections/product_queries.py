"""One unit of the installed base with its history: the requests that named it
(维修历史) and the parts replaced on it (备件更换), whoever owned it then."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.access import Principal, require_visible
from domain.errors import NotFound
from projections.queries import unit_agreements, unit_parts
from projections.registry import ReadModels
from projections.view import from_json


def product(models: ReadModels, who: Principal, serial: str) -> dict[str, Any]:
    rows = models["customers"].query(
        "SELECT serial, customer_code, model, name, status, install_address, installed_on, "
        "warranty_until, configuration, maintainer FROM customer_products WHERE serial = ?",
        (serial.strip(),))
    if not rows:
        raise NotFound(f"no product with serial {serial}")
    found = rows[0]
    require_visible(who, found["customer_code"], f"product with serial {serial}")
    found["configuration"] = from_json(found["configuration"])
    until = found["warranty_until"]
    found["in_warranty"] = None if until is None else until >= datetime.now(UTC).date().isoformat()
    found["requests"] = [r["reference"] for r in models["customers"].query(
        "SELECT reference FROM unit_requests WHERE serial = ? ORDER BY reference",
        (found["serial"],))]
    found["parts"] = unit_parts(models, found["serial"], who)
    found["agreements"] = unit_agreements(models, found["serial"])
    return found
