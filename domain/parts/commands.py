"""Commands of the spare-parts context."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReceiveParts:
    sku: str
    warehouse: str
    qty: int
    actor: str


@dataclass(frozen=True)
class IssueParts:
    """To an engineer, for a request (备件申请)."""

    sku: str
    warehouse: str
    engineer: str
    qty: int
    reference: str
    actor: str


@dataclass(frozen=True)
class ReturnParts:
    sku: str
    warehouse: str
    engineer: str
    qty: int
    condition: str  # unused | faulty
    actor: str
    fault_label: str = ""
    reference: str | None = None
