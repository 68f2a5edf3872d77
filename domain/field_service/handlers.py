"""Handlers of the field-service context.

Who may take a step is decided here, on the job and the actor's account (the
HTTP layer only lets staff in): coordinators (agents, managers, admins) record
the intake, dispatch and book appointments; only the dispatched engineer (or a
member of the dispatched team) accepts, declines, visits and reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from eventsourcing.domain import Aggregate

from domain import ids
from domain.aggregates.field_job import MODES, WARRANTY, FieldJob, field_job_id
from domain.aggregates.installed_product import InstalledProduct
from domain.aggregates.part_stock import PartStock, checked_sku, checked_warehouse, part_stock_id
from domain.aggregates.service_request import ServiceRequest
from domain.aggregates.team import TEAM_PREFIX
from domain.commands import Handlers
from domain.errors import ConcurrentChange, InvalidTransition, NotFound, PermissionDenied, invalid
from domain.field_service.commands import (
    AcceptDispatch,
    BookAppointment,
    DeclineDispatch,
    Dispatch,
    EndVisit,
    FileServiceReport,
    PartUsed,
    ReceiveUnit,
    RecordIntake,
    RepairUnit,
    RequireSecondVisit,
    ResolveByPhone,
    ReturnUnit,
    StartVisit,
)
from domain.requests.lookup import load_request
from domain.store import Pending, Store
from domain.teams.handlers import all_teams, load_team
from domain.users.handlers import load_user
from domain.vocabulary import require_one_of

handlers = Handlers()

COORDINATOR_ROLES = ("agent", "manager", "admin")
MAX_MINUTES = 24 * 60 * 7
MAX_DISTANCE_KM = 10_000.0
MAX_TEXT = 4000
MAX_LEVEL = 40
MAX_NAME = 200
MAX_TRACKING = 100
# A price as a decimal string: what the API's schema says too.
PRICE_TEXT = re.compile(r"[0-9]{1,8}(\.[0-9]{1,2})?")
MAX_PRICE = Decimal("10000000")


def between(field: str, message: str) -> InvalidTransition:
    """A rule between fields broken: 422 naming the field (the values are each
    fine; together they do not make a command)."""
    return InvalidTransition(message, fields={field: message})


def checked_text(field: str, value: str, required: bool = True) -> str:
    """Stripped; the limit applies to what was sent (as the API's schema says)."""
    if len(value) > MAX_TEXT:
        raise invalid(field, f"{field} is at most {MAX_TEXT} characters")
    stripped = value.strip()
    if required and not stripped:
        raise invalid(field, f"{field.replace('_', ' ')} must not be empty")
    return stripped


def find_job(store: Store, reference: str) -> FieldJob | None:
    return store.get(FieldJob, field_job_id(reference))


def load_job(store: Store, reference: str) -> FieldJob:
    job = find_job(store, reference)
    if job is None:
        load_request(store, reference)  # an unknown reference is 404 as such
        raise InvalidTransition(f"{reference} has no intake yet: record the intake first")
    return job


def change_job(store: Store, reference: str, change: Callable[[FieldJob], list[Aggregate] | None],
               expected_version: int | None = None) -> None:
    """Load the job, apply `change` (which may return other aggregates it
    changed, e.g. part stock) and save them in one write, retrying a lost race."""

    def attempt() -> None:
        job = load_job(store, reference)
        if expected_version is not None and job.version != expected_version:
            raise ConcurrentChange(f"the field job of {reference} changed since you loaded it "
                                   f"(version {expected_version}, now {job.version}); reload")
        others = change(job) or []
        store.save(Pending([job, *others]))

    store.retrying(attempt)


def require_coordinator(store: Store, actor: str, what: str) -> None:
    user = load_user(store, actor)
    if not any(role in COORDINATOR_ROLES for role in user.roles):
        raise PermissionDenied(f"only a coordinator (agent or manager) may {what}")


def teams_of(store: Store, email: str) -> list[str]:
    """`team:CODE` for every team `email` is a member of."""
    return [f"{TEAM_PREFIX}{t.code}" for t in all_teams(store) if email in t.members]


# --- intake ----------------------------------------------------------------------


def checked_warranty(store: Store, request: ServiceRequest, stated: str,
                     today: date) -> tuple[str, str]:
    """(warranty, basis): as stated, or for `unknown` what the installed base says
    about the request's product: a service agreement running today, else its
    warranty end (InstalledProduct.coverage)."""
    if stated != "unknown":
        return stated, "stated"
    if not request.product:
        return "unknown", "no product"
    product = store.get(InstalledProduct, ids.product_id(request.product))
    if product is None or product.customer_code != request.customer_code:
        return "unknown", "product not registered"
    covered, basis = product.coverage(today)
    return ("unknown" if covered is None else "in" if covered else "out"), basis


@handlers(RecordIntake)
def record_intake(store: Store, c: RecordIntake) -> str:
    require_coordinator(store, c.actor, "record an intake")
    require_one_of(c.warranty, WARRANTY, "warranty")
    require_one_of(c.mode, MODES, "mode")
    symptom = checked_text("symptom", c.symptom)
    level = (c.level or "").strip() or None
    if len(c.level or "") > MAX_LEVEL:
        raise invalid("level", f"a service level is at most {MAX_LEVEL} characters")
    if len(c.accepted_by) > MAX_NAME:
        raise invalid("accepted_by", f"accepted_by is at most {MAX_NAME} characters")
    price_policy, price, accepted = None, None, None
    if len(c.price_policy or "") > MAX_TEXT:
        raise invalid("price_policy", f"price_policy is at most {MAX_TEXT} characters")
    price_given = checked_price(c.price)
    if c.mode == "paid":
        # Rules between fields (no schema states them): 422, with the field named.
        price_policy = (c.price_policy or "").strip()
        if not price_policy:
            raise between("price_policy", "paid service needs the price policy told to the "
                                          "customer")
        if c.price_accepted is None:
            raise between("price_accepted", "say whether the customer accepted the price")
        price, accepted = price_given, c.price_accepted
    request = load_request(store, c.reference)
    if not request.is_open:
        raise InvalidTransition(f"{c.reference} is {request.status}: reopen it first")
    warranty, basis = checked_warranty(store, request, c.warranty, store.clock.now().date())
    job = FieldJob(
        reference=request.reference, customer_code=request.customer_code,
        product=request.product, symptom=symptom, warranty=c.warranty,
        warranty_checked=warranty, warranty_basis=basis, level=level, mode=c.mode,
        price_policy=price_policy, price=price, price_accepted=accepted,
        accepted_by=c.accepted_by.strip() if c.mode == "paid" else "", actor=c.actor)
    store.create(Pending([job]), f"the intake of {c.reference} is recorded already")
    return warranty


def checked_price(raw: str | float | None) -> str | None:
    """A decimal string like 350.00, or a number (from JSON) from 0 to 10,000,000."""
    if raw is None:
        return None
    if isinstance(raw, str) and not PRICE_TEXT.fullmatch(raw):
        raise invalid("price", "a price is a number like 350.00")
    try:
        price = Decimal(str(raw))
    except InvalidOperation:
        raise invalid("price", "a price is a number like 350.00") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise invalid("price", "a price is a number from 0 to 10,000,000")
    return f"{price.quantize(Decimal('0.01'))}"


# --- dispatch ----------------------------------------------------------------------


def checked_moment(raw: str | None, field: str) -> str | None:
    if raw in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        raise invalid(field, f"{field} is a date and time like 2026-11-25T09:00:00+08:00"
                      ) from None
    if moment.tzinfo is None:
        raise invalid(field, f"{field} needs a time zone (…+08:00 or …Z)")
    return moment.astimezone(UTC).isoformat()


def checked_distance(value: float | None) -> float | None:
    if value is None:
        return None
    if not 0 <= value <= MAX_DISTANCE_KM:
        raise invalid("distance_km", f"distance_km is from 0 to {MAX_DISTANCE_KM:,.0f}")
    return round(float(value), 1)


def dispatch_target(store: Store, engineer: str) -> str:
    target = engineer.strip()
    if target.lower().startswith(TEAM_PREFIX):
        code = target[len(TEAM_PREFIX):].strip()
        try:
            return f"{TEAM_PREFIX}{load_team(store, code).code}"
        except NotFound:
            raise NotFound(f"there is no team {code!r} to dispatch to") from None
    try:
        user = load_user(store, target)
    except NotFound:
        raise NotFound(f"there is no engineer {target!r} (a team is team:CODE)") from None
    if not user.active or "engineer" not in user.roles:
        raise InvalidTransition(f"{user.email} is not an active engineer",
                                fields={"engineer": "not an active engineer"})
    return user.email


@handlers(Dispatch)
def dispatch(store: Store, c: Dispatch) -> None:
    require_coordinator(store, c.actor, "dispatch")
    target = dispatch_target(store, c.engineer)
    at = checked_moment(c.appointment_at, "appointment_at")
    distance = checked_distance(c.distance_km)
    change_job(store, c.reference, lambda j: j.dispatch(target, at, distance, c.actor),
               c.expected_version)


@handlers(AcceptDispatch)
def accept_dispatch(store: Store, c: AcceptDispatch) -> None:
    teams = teams_of(store, c.actor)
    change_job(store, c.reference, lambda j: j.accept(c.actor, teams, c.actor))


@handlers(DeclineDispatch)
def decline_dispatch(store: Store, c: DeclineDispatch) -> None:
    if not c.reason.strip():
        raise invalid("reason", "say why you decline")
    teams = teams_of(store, c.actor)
    change_job(store, c.reference, lambda j: j.decline(c.actor, teams, c.reason.strip(),
                                                       c.actor))


# --- the engineer's work ------------------------------------------------------------


def _engineer_or_coordinator(store: Store, job: FieldJob, actor: str) -> None:
    if job.engineer == actor:
        return
    user = load_user(store, actor)
    if not any(role in COORDINATOR_ROLES for role in user.roles):
        raise PermissionDenied(f"{job.reference} is dispatched to {job.engineer}, not to you")


@handlers(BookAppointment)
def book_appointment(store: Store, c: BookAppointment) -> None:
    at = checked_moment(c.appointment_at, "appointment_at")
    if at is None:
        raise invalid("appointment_at", "say when the appointment is")
    note = checked_text("note", c.note, required=False)

    def change(job: FieldJob) -> None:
        _engineer_or_coordinator(store, job, c.actor)
        job.book_appointment(at, note, c.actor)

    change_job(store, c.reference, change)


def _engineer_step(store: Store, reference: str, actor: str,
                   step: Callable[[FieldJob], list[Aggregate] | None]) -> None:
    """A step only the engineer the job is with takes.  Whether the step is next
    is checked first (422 for anyone), then whose it is (403): nothing is saved
    either way."""

    def change(job: FieldJob) -> list[Aggregate] | None:
        if job.engineer is None or job.stage in ("intake", "dispatched", "declined"):
            if job.mode == "phone":
                raise InvalidTransition(f"{reference} is a phone answer: no engineer's work")
            raise InvalidTransition(f"{reference} has no accepted dispatch (it is {job.stage})")
        engineer = job.engineer
        changed = step(job)
        if engineer != actor:
            raise PermissionDenied(f"{reference} is with {engineer}, not with you")
        return changed

    change_job(store, reference, change)


@handlers(StartVisit)
def start_visit(store: Store, c: StartVisit) -> None:
    _engineer_step(store, c.reference, c.actor, lambda j: j.start_visit(c.actor))


@handlers(EndVisit)
def end_visit(store: Store, c: EndVisit) -> None:
    distance = checked_distance(c.distance_km)
    _engineer_step(store, c.reference, c.actor, lambda j: j.end_visit(distance, c.actor))


@handlers(ReceiveUnit)
def receive_unit(store: Store, c: ReceiveUnit) -> None:
    # The workshop's coordinator often logs the parcel before anyone is assigned.
    require_coordinator_or_engineer(store, c.actor)
    tracking, carrier = checked_parcel(c.tracking_number, c.carrier)
    change_job(store, c.reference, lambda j: j.receive_unit(tracking, carrier, c.actor))


@handlers(RepairUnit)
def repair_unit(store: Store, c: RepairUnit) -> None:
    _engineer_step(store, c.reference, c.actor, lambda j: j.repair_unit(c.actor))


@handlers(ReturnUnit)
def return_unit(store: Store, c: ReturnUnit) -> None:
    require_coordinator_or_engineer(store, c.actor)
    tracking, carrier = checked_parcel(c.tracking_number, c.carrier)
    change_job(store, c.reference, lambda j: j.return_unit(tracking, carrier, c.actor))


def checked_parcel(tracking_number: str, carrier: str) -> tuple[str, str]:
    """A courier's tracking number and its name, both optional."""
    if len(tracking_number) > MAX_TRACKING:
        raise invalid("tracking_number", f"a tracking number is at most {MAX_TRACKING} "
                                         "characters")
    if len(carrier) > MAX_TRACKING:
        raise invalid("carrier", f"a carrier is at most {MAX_TRACKING} characters")
    return tracking_number.strip(), carrier.strip()


def require_coordinator_or_engineer(store: Store, actor: str) -> None:
    user = load_user(store, actor)
    if not any(role in (*COORDINATOR_ROLES, "engineer") for role in user.roles):
        raise PermissionDenied("only staff handle units")


@handlers(FileServiceReport)
def file_service_report(store: Store, c: FileServiceReport) -> None:
    cause, actions = checked_text("cause", c.cause), checked_text("actions", c.actions)
    signed_by = checked_text("signed_by", c.signed_by)
    if not 0 < c.minutes <= MAX_MINUTES:
        raise invalid("minutes", f"minutes is from 1 to {MAX_MINUTES}")
    distance = checked_distance(c.distance_km)
    parts = [checked_part(p) for p in c.parts]

    def step(job: FieldJob) -> list[Aggregate]:
        stocks: dict[str, PartStock] = {}
        for part in parts:
            sku = part.sku
            if sku not in stocks:
                stock = store.get(PartStock, part_stock_id(sku))
                if stock is None:
                    raise InvalidTransition(f"{sku} was never issued to you for "
                                            f"{c.reference}")
                stocks[sku] = stock
            stocks[sku].consume(c.actor, c.reference, part.warehouse, part.qty,
                                list(part.faulty_serials), c.actor)
        used = [{"sku": p.sku, "warehouse": p.warehouse, "qty": p.qty,
                 "faulty_serials": list(p.faulty_serials)} for p in parts]
        job.file_report(cause, actions, used, c.minutes, distance, signed_by,
                        dict(c.signature) if c.signature else None, c.actor)
        return list(stocks.values())

    _engineer_step(store, c.reference, c.actor, step)


def checked_part(part: PartUsed) -> PartUsed:
    sku = checked_sku(part.sku)
    warehouse = checked_warehouse(part.warehouse)
    qty = part.qty
    if not isinstance(qty, int) or isinstance(qty, bool) or not 0 < qty <= 1000:
        raise invalid("parts", f"{sku}: qty is a whole number from 1 to 1000")
    if any(len(s) > 64 for s in part.faulty_serials):
        raise invalid("parts", f"{sku}: a faulty serial is at most 64 characters")
    serials = tuple(str(s).strip() for s in part.faulty_serials if str(s).strip())
    if len(serials) > qty:
        raise between("parts", f"{sku}: at most {qty} faulty serials for {qty} parts")
    return PartUsed(sku, warehouse, qty, serials)


@handlers(RequireSecondVisit)
def require_second_visit(store: Store, c: RequireSecondVisit) -> None:
    reason = c.reason.strip()
    if not reason:
        raise invalid("reason", "say why a second visit is needed (what is unfinished)")

    def change(job: FieldJob) -> None:
        _engineer_or_coordinator(store, job, c.actor)
        job.require_second_visit(reason, c.actor)

    change_job(store, c.reference, change)


@handlers(ResolveByPhone)
def resolve_by_phone(store: Store, c: ResolveByPhone) -> None:
    """The engineer or agent who answered records the answer (staff only)."""
    require_coordinator_or_engineer(store, c.actor)
    summary = checked_text("summary", c.summary)
    if isinstance(c.minutes, bool) or not 0 < c.minutes <= MAX_MINUTES:
        raise invalid("minutes", f"minutes is from 1 to {MAX_MINUTES}")
    change_job(store, c.reference, lambda j: j.resolve_by_phone(summary, c.minutes, c.actor))
