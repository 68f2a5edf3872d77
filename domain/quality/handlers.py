"""Handlers of the quality context."""

from __future__ import annotations

from domain.aggregates.installed_product import SERIAL_PATTERN
from domain.aggregates.quality_case import (
    ORIGINS,
    QUALITY_TEAMS,
    QualityCase,
    new_code,
    quality_case_id,
)
from domain.commands import Handlers
from domain.errors import NotFound, invalid
from domain.quality.commands import ConcludeQualityCase, RaiseQualityCase, StartInvestigation
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
    product = _required("product", c.product, "the product (model)", 100)
    batch = _required("batch", c.batch, "the production batch")
    symptom = _required("symptom", c.symptom, "the symptom", TEXT_LIMIT)
    serial = (c.serial or "").strip() or None
    if serial is not None and not SERIAL_PATTERN.match(serial):
        raise invalid("serial", "a serial is 2–64 letters, digits and . _ / -")
    request = load_request(store, c.source_reference)
    code = new_code()
    store.create(Pending([QualityCase(
        code=code, source_reference=request.reference, origin=c.origin, product=product,
        batch=batch, serial=serial or request.product, symptom=symptom,
        teams=list(QUALITY_TEAMS), actor=c.actor,
    )]), f"quality case {code} exists already")
    return code


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
