"""Commands of the installed-base context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RegisterProduct:
    serial: str
    model: str
    customer_code: str
    actor: str
    name: str = ""
    install_address: str = ""
    installed_on: str | None = None
    warranty_until: str | None = None
    configuration: dict[str, Any] | None = None
    maintainer: str | None = None


@dataclass(frozen=True)
class UpdateProduct:
    serial: str
    changes: dict[str, Any]
    actor: str


@dataclass(frozen=True)
class ChangeProductStatus:
    serial: str
    status: str
    actor: str
    reason: str = ""


@dataclass(frozen=True)
class TransferProduct:
    serial: str
    to_code: str
    actor: str


@dataclass(frozen=True)
class AddServiceAgreement:
    """A service agreement (服务协议) covering the unit from one day to another:
    it decides warranty at intake (domain.field_service)."""

    serial: str
    code: str
    starts_on: str  # YYYY-MM-DD
    ends_on: str
    actor: str
    level: str | None = None
