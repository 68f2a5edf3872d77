"""Handlers of the quality context."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from domain.aggregates.installed_product import SERIAL_PATTERN
from domain.aggregates.quality_case import (
    ORIGINS,
    QUALITY_TEAMS,
    QualityCase,
    new_code,
    quality_case_id,
)
from domain.aggregates.service_request import ServiceRequest
from domain.commands import Handlers
from domain.errors import NotFound, invalid
from domain.quality.commands import (
    ConcludeQualityCase,
    EscalateQualityProblem,
    RaiseQualityCase,
    StartInvestigation,
)
from domain.requests.handlers import change_request
from domain.requests.lookup import load_request
from domain.store import Pending, Store

handlers = Handlers()
TEXT_LIMIT = 10_000


def load_quality_case(store: Store, code: str) -> QualityCase:
    case = store.get(QualityCase, quality_case_id(code))
    if case is None:
        raise NotFound(f"no quality case {code!r}")
    return case


def _required(field: str, value: str, what: str, limit: int = 200) -> str:
    if len(value) > limit:  # as sent: the API's schema says so of the raw value
        raise invalid(field, f"{field} is at most {limit} characters")
    value = value.strip()
    if not value:
        raise invalid(field, f"a quality case needs {what}")
    return value


@handlers(RaiseQualityCase)
def raise_quality_case(store: Store, c: RaiseQualityCase) -> str:
    if c.origin not in ORIGINS:
        raise invalid("origin", f"the origin is one of {', '.join(ORIGINS)}")
    facts = _facts(c.product, c.batch, c.symptom, c.serial)
    request = load_request(store, c.source_reference)
    case = _case(facts, request.reference, request.product, c.origin, c.actor)
    store.create(Pending([case]), f"quality case {case.code} exists already")
    return case.code


def _facts(product: str, batch: str, symptom: str, serial: str | None
           ) -> tuple[str, str, str, str | None]:
    """The case's product, batch, symptom and serial, checked (before anything is saved)."""
    found = (_required("product", product, "the product (model)", 100),
             _required("batch", batch, "the production batch"),
             _required("symptom", symptom, "the symptom", TEXT_LIMIT),
             (serial or "").strip() or None)
    if found[3] is not None and not SERIAL_PATTERN.match(found[3]):
        raise invalid("serial", "a serial is 2–64 letters, digits and . _ / -")
    return found


def _case(facts: tuple[str, str, str, str | None], reference: str, unit: str | None,
          origin: str, actor: str) -> QualityCase:
    product, batch, symptom, serial = facts
    return QualityCase(code=new_code(), source_reference=reference, origin=origin,
                       product=product, batch=batch, serial=serial or unit, symptom=symptom,
                       teams=list(QUALITY_TEAMS), actor=actor)


@handlers(EscalateQualityProblem)
def escalate_quality_problem(store: Store, c: EscalateQualityProblem) -> str:
    """Escalate and raise the case together: neither is saved without the other."""
    if not c.reason.strip():
        raise invalid("reason", "say why the request is escalated")
    facts = _facts(c.product, c.batch, c.symptom, c.serial)
    codes: list[str] = []

    def change(request: ServiceRequest) -> list[Aggregate]:
        request.escalate(c.reason, c.actor, c.level, c.due_at)
        case = _case(facts, request.reference, request.product, "escalation", c.actor)
        codes.append(case.code)
        return [case]

    change_request(store, c.reference, change)
    return codes[-1]


@handlers(StartInvestigation)
def start_investigation(store: Store, c: StartInvestigation) -> None:
    if len(c.note) > TEXT_LIMIT:
        raise invalid("note", f"a note is at most {TEXT_LIMIT} characters")
    store.change(lambda: load_quality_case(store, c.code),
                 lambda case: case.investigate(c.note.strip(), c.actor))


@handlers(ConcludeQualityCase)
def conclude(store: Store, c: ConcludeQualityCase) -> None:
    conclusion = _required("conclusion", c.conclusion, "a conclusion", TEXT_LIMIT)
    store.change(lambda: load_quality_case(store, c.code),
                 lambda case: case.conclude(conclusion, c.actor))
