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
