"""OpenAPI paths of the installed base (a customer's products), merged into
read_api.openapi's document."""

from __future__ import annotations

from typing import Any

from domain.aggregates.installed_product import PRODUCT_STATUSES
from read_api.openapi import (
    CODE,
    CONFIGURATION,
    DATE,
    MODEL_PATTERN,
    SERIAL,
    TEXT,
    _body,
    _command,
    _enum,
    _nullable,
    _object,
    _string,
)

PRODUCT_PATHS: dict[str, Any] = {
    "/customers/{code}/products": {"post": _command(
        "Register an installed product", _body(
            ("serial", "model"), serial=SERIAL, model=_string(MODEL_PATTERN), name=TEXT,
            install_address=TEXT, installed_on=_nullable(DATE),
            warranty_until=_nullable(DATE), configuration=CONFIGURATION,
            maintainer=_nullable(TEXT)),
        _object(("serial",), serial={"type": "string"}), status="201", path={"code": CODE},
    )},
    "/products/{serial}": {"patch": _command(
        "Change an installed product's details (only those given)", _body(
            model=_string(MODEL_PATTERN), name=TEXT, install_address=TEXT,
            installed_on=_nullable(DATE), warranty_until=_nullable(DATE),
            configuration=CONFIGURATION, maintainer=_nullable(TEXT)),
        path={"serial": SERIAL},
    )},
    "/products/{serial}/status": {"post": _command(
        "Change a product's running status", _body(
            ("status",), status=_enum(PRODUCT_STATUSES), reason=TEXT),
        path={"serial": SERIAL},
    )},
    "/products/{serial}/transfer": {"post": _command(
        "Move a product to another customer", _body(("customer_code",), customer_code=CODE),
        path={"serial": SERIAL},
    )},
}
