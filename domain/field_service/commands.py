"""Commands of the field-service context.  `actor` is the staff email acting;
the handlers check who may take each step (the dispatched engineer, a
coordinator) on the job itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordIntake:
    reference: str
    symptom: str
    warranty: str  # in | out | unknown (checked against the installed base)
    mode: str  # phone | on_site | carry_in | mail_in | paid
    actor: str
    level: str | None = None
    # paid service (有偿服务): the policy told to the customer, the price quoted,
    # whether they accepted it and who did
    price_policy: str | None = None
    price: str | float | None = None
    price_accepted: bool | None = None
    accepted_by: str = ""


@dataclass(frozen=True)
class Dispatch:
    reference: str
    engineer: str  # a user's email or team:CODE
    actor: str
    appointment_at: str | None = None  # ISO 8601 datetime
    distance_km: float | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class AcceptDispatch:
    reference: str
    actor: str


@dataclass(frozen=True)
class DeclineDispatch:
    reference: str
    reason: str
    actor: str


@dataclass(frozen=True)
class BookAppointment:
    reference: str
    appointment_at: str
    actor: str
    note: str = ""


@dataclass(frozen=True)
class StartVisit:
    reference: str
    actor: str


@dataclass(frozen=True)
class EndVisit:
    reference: str
    actor: str
    distance_km: float | None = None


@dataclass(frozen=True)
class PartUsed:
    sku: str
    warehouse: str
    qty: int
    faulty_serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileServiceReport:
    reference: str
    cause: str
    actions: str
    minutes: int
    signed_by: str
    actor: str
    parts: tuple[PartUsed, ...] = ()
    # the customer's drawn signature, already in the blob store (a reference)
    signature: dict[str, Any] | None = field(default=None, hash=False)
    distance_km: float | None = None


@dataclass(frozen=True)
class RequireSecondVisit:
    reference: str
    reason: str
    actor: str


@dataclass(frozen=True)
class ReceiveUnit:
    reference: str
    actor: str
    tracking_number: str = ""
    carrier: str = ""


@dataclass(frozen=True)
class RepairUnit:
    reference: str
    actor: str


@dataclass(frozen=True)
class ReturnUnit:
    reference: str
    actor: str
    tracking_number: str = ""
    carrier: str = ""


@dataclass(frozen=True)
class ResolveByPhone:
    """A phone-mode job (电话解决) answered: its completion for the wage settlement."""

    reference: str
    summary: str
    minutes: int
    actor: str
