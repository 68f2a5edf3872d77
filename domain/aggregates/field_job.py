"""FieldJob: the field-service work on one service request (seed 001's 上门 / 送修 /
寄修 / 有偿服务 flows), one per request, its id derived from the reference.

The request itself (ServiceRequest) keeps the conversation; this aggregate keeps
the intake decision, the dispatch, the visits and the service reports, so the
request's aggregate does not grow and the two never race each other.

Events (topic `domain.aggregates.field_job:FieldJob.<Name>`; every one also has
`actor`, the staff email who did it, and `timestamp`):

- `Created` — the intake: reference, customer_code, product (serial or None),
  symptom [personal], warranty (as stated: in|out|unknown), warranty_checked
  (in|out|unknown: the answer used, from the installed base when stated
  `unknown`), warranty_basis (plain words: "stated", "warranty_until 2027-01-31",
  "agreement SA-1 until 2027-06-30", "no product", "product not registered",
  "no coverage dates"), level (service level or None), mode
  (phone|on_site|carry_in|mail_in|paid), price_policy, price (decimal string or
  None), price_accepted (True/False/None), accepted_by [personal] — the last
  four only for paid service (有偿服务: the policy told and the customer's answer).
- `Dispatched` — engineer (user email or `team:CODE`), appointment_at (ISO
  datetime or None), distance_km (float or None), visit (1, 2, ...).
- `Accepted` — engineer (who accepted: for a team dispatch, the member), visit.
- `Declined` — engineer, reason [personal: never shown to the customer], visit.
- `AppointmentBooked` — appointment_at (ISO datetime), visit, note [personal].
- `VisitStarted` — visit.
- `VisitEnded` — visit, distance_km (float or None).
- `UnitReceived` — carry-in / mail-in: tracking_number [personal], carrier, visit.
- `UnitRepaired` — visit.
- `ReportFiled` — the service report of one visit, signed; THE completed job for
  wage settlement: visit, engineer, mode, cause, actions, parts ([{sku,
  warehouse, qty, faulty_serials: [..]}]), minutes (int), distance_km (float or
  None: the report's, else the visit end's, else the dispatch's), signed_by
  [personal], signature [personal blob reference or None; content_type and size
  in clear], product (serial or None), customer_code.
- `SecondVisitRequired` — reason [personal], visit (the new visit's number); the
  job goes back to `accepted` with the same engineer and no appointment.
- `UnitReturned` — carry-in / mail-in: tracking_number [personal], carrier.
- `PhoneResolved` — a phone answer (电话解决) done: engineer (the engineer or
  agent who answered), minutes (int), summary [personal]; THE completed job of a
  phone-mode request for wage settlement (visit 1, no distance).

Stages: intake → dispatched ⇄ declined → accepted → scheduled → visiting →
visited → reported (→ second visit: accepted again); carry-in / mail-in:
accepted → received → repaired → reported → returned.  A phone answer needs no
dispatch: intake → resolved.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import ConcurrentChange, InvalidTransition, PermissionDenied
from domain.ids import NAMESPACE
from domain.personal import ATTACHMENTS, PersonalData, fields

MODES = ("phone", "on_site", "carry_in", "mail_in", "paid")
WARRANTY = ("in", "out", "unknown")
# Modes where the engineer goes to the customer's site (paid service is on site).
SITE_MODES = ("on_site", "paid")
WORKSHOP_MODES = ("carry_in", "mail_in")
STAGES = ("intake", "dispatched", "declined", "accepted", "scheduled", "visiting", "visited",
          "received", "repaired", "reported", "returned", "resolved")


def field_job_id(reference: str) -> UUID:
    return uuid5(NAMESPACE, f"field-job:{reference}")


class AlreadyDispatched(ConcurrentChange):
    """Another coordinator dispatched the job first (409, not a silent overwrite)."""


class FieldJob(Aggregate):
    personal_data = PersonalData(
        owner=lambda job: job.customer_code,
        events={
            "Created": fields(
                plain="reference customer_code product warranty warranty_checked "
                "warranty_basis level mode price_policy price price_accepted",
                personal="symptom accepted_by",
            ),
            "Dispatched": fields(plain="engineer appointment_at distance_km visit"),
            "Accepted": fields(plain="engineer visit"),
            "Declined": fields(plain="engineer visit", personal="reason"),
            "AppointmentBooked": fields(plain="appointment_at visit", personal="note"),
            "VisitStarted": fields(plain="visit"),
            "VisitEnded": fields(plain="visit distance_km"),
            "UnitReceived": fields(plain="carrier visit", personal="tracking_number"),
            "UnitRepaired": fields(plain="visit"),
            "ReportFiled": fields(
                plain="visit engineer mode cause actions parts minutes distance_km product "
                "customer_code",
                personal="signed_by", signature=ATTACHMENTS,
            ),
            "SecondVisitRequired": fields(plain="visit", personal="reason"),
            "UnitReturned": fields(plain="carrier", personal="tracking_number"),
            "PhoneResolved": fields(plain="engineer minutes visit", personal="summary"),
        },
    )

    @staticmethod
    def create_id(reference: str, **_: object) -> UUID:
        return field_job_id(reference)

    @event("Created")
    def __init__(self, reference: str, customer_code: str, product: str | None, symptom: str,
                 warranty: str, warranty_checked: str, warranty_basis: str, level: str | None,
                 mode: str, price_policy: str | None, price: str | None,
                 price_accepted: bool | None, accepted_by: str, actor: str) -> None:
        self.reference = reference
        self.customer_code = customer_code
        self.product = product
        self.mode = mode
        self.warranty = warranty_checked
        self.level = level
        self.price_accepted = price_accepted
        self.stage = "intake"
        self.engineer: str | None = None  # who is dispatched (email or team:CODE)
        self.appointment_at: str | None = None
        self.distance_km: float | None = None
        self.visit = 0
        self.reports = 0
        self.received = False  # carry-in / mail-in: the unit is at the workshop

    # --- dispatch -------------------------------------------------------------

    def dispatch(self, engineer: str, appointment_at: str | None, distance_km: float | None,
                 actor: str) -> None:
        if self.mode == "phone":
            raise InvalidTransition(f"{self.reference} is a phone answer: nobody is dispatched")
        if self.mode == "paid" and not self.price_accepted:
            raise InvalidTransition(f"{self.reference} is paid service and the customer has "
                                    "not accepted the price")
        if self.stage not in ("intake", "declined"):
            raise AlreadyDispatched(f"{self.reference} is already dispatched to {self.engineer} "
                                    f"({self.stage}); reload to see it")
        self._dispatched(engineer=engineer, appointment_at=appointment_at,
                         distance_km=distance_km, visit=max(self.visit, 1), actor=actor)

    @event("Dispatched")
    def _dispatched(self, engineer: str, appointment_at: str | None, distance_km: float | None,
                    visit: int, actor: str) -> None:
        self.engineer = engineer
        self.appointment_at = appointment_at
        self.distance_km = distance_km
        self.visit = visit
        self.stage = "dispatched"

    def require_dispatched_to(self, engineer: str, teams: list[str]) -> None:
        """Only the dispatched engineer (or, for a team dispatch, a member) acts."""
        if self.engineer is None:
            raise InvalidTransition(f"{self.reference} is not dispatched yet")
        if self.engineer != engineer and self.engineer not in teams:
            raise PermissionDenied(f"{self.reference} is dispatched to {self.engineer}, "
                                   "not to you")

    def accept(self, engineer: str, teams: list[str], actor: str) -> None:
        self._require_stage("accept", ("dispatched",))
        self.require_dispatched_to(engineer, teams)
        self._accepted(engineer=engineer, visit=self.visit, actor=actor)

    @event("Accepted")
    def _accepted(self, engineer: str, visit: int, actor: str) -> None:
        self.engineer = engineer
        if self.received:
            self.stage = "received"
        else:
            self.stage = "scheduled" if self.appointment_at else "accepted"

    def decline(self, engineer: str, teams: list[str], reason: str, actor: str) -> None:
        self._require_stage("decline", ("dispatched",))
        self.require_dispatched_to(engineer, teams)
        self._declined(engineer=engineer, reason=reason, visit=self.visit, actor=actor)

    @event("Declined")
    def _declined(self, engineer: str, reason: str, visit: int, actor: str) -> None:
        self.stage = "declined"
        self.appointment_at = None

    # --- on site --------------------------------------------------------------

    def book_appointment(self, appointment_at: str, note: str, actor: str) -> None:
        self._require_stage("book an appointment", ("dispatched", "accepted", "scheduled"))
        self._appointment_booked(appointment_at=appointment_at, visit=self.visit, note=note,
                                 actor=actor)

    @event("AppointmentBooked")
    def _appointment_booked(self, appointment_at: str, visit: int, note: str,
                            actor: str) -> None:
        self.appointment_at = appointment_at
        if self.stage == "accepted":
            self.stage = "scheduled"

    def start_visit(self, actor: str) -> None:
        self._require_site("start a visit")
        self._require_stage("start a visit", ("accepted", "scheduled"))
        self._visit_started(visit=self.visit, actor=actor)

    @event("VisitStarted")
    def _visit_started(self, visit: int, actor: str) -> None:
        self.stage = "visiting"

    def end_visit(self, distance_km: float | None, actor: str) -> None:
        self._require_stage("end a visit", ("visiting",))
        self._visit_ended(visit=self.visit, distance_km=distance_km, actor=actor)

    @event("VisitEnded")
    def _visit_ended(self, visit: int, distance_km: float | None, actor: str) -> None:
        if distance_km is not None:
            self.distance_km = distance_km
        self.stage = "visited"

    # --- carry-in / mail-in ---------------------------------------------------

    def receive_unit(self, tracking_number: str, carrier: str, actor: str) -> None:
        self._require_workshop("receive the unit")
        self._require_stage("receive the unit", ("intake", "dispatched", "accepted",
                                                 "scheduled"))
        self._unit_received(tracking_number=tracking_number, carrier=carrier,
                            visit=self.visit, actor=actor)

    @event("UnitReceived")
    def _unit_received(self, tracking_number: str, carrier: str, visit: int,
                       actor: str) -> None:
        self.received = True
        if self.stage in ("accepted", "scheduled"):
            self.stage = "received"

    def repair_unit(self, actor: str) -> None:
        self._require_workshop("mark the unit repaired")
        self._require_stage("mark the unit repaired", ("received",))
        self._unit_repaired(visit=self.visit, actor=actor)

    @event("UnitRepaired")
    def _unit_repaired(self, visit: int, actor: str) -> None:
        self.stage = "repaired"

    def return_unit(self, tracking_number: str, carrier: str, actor: str) -> None:
        self._require_workshop("return the unit")
        self._require_stage("return the unit", ("reported",))
        self._unit_returned(tracking_number=tracking_number, carrier=carrier, actor=actor)

    @event("UnitReturned")
    def _unit_returned(self, tracking_number: str, carrier: str, actor: str) -> None:
        self.stage = "returned"

    # --- the report -----------------------------------------------------------

    def file_report(self, cause: str, actions: str, parts: list[dict[str, Any]], minutes: int,
                    distance_km: float | None, signed_by: str,
                    signature: dict[str, Any] | None, actor: str) -> None:
        ready = ("visited",) if self.mode in SITE_MODES else ("received", "repaired")
        if self.stage == "reported":
            raise InvalidTransition(f"the report of visit {self.visit} of {self.reference} is "
                                    "filed already; ask for a second visit to report again")
        if self.stage not in ready:
            what = "the visit has ended" if self.mode in SITE_MODES else "the unit is received"
            raise InvalidTransition(f"a service report of {self.reference} comes after {what} "
                                    f"(it is {self.stage} now)")
        self._report_filed(
            visit=self.visit, engineer=self.engineer or actor, mode=self.mode, cause=cause,
            actions=actions, parts=parts, minutes=minutes,
            distance_km=distance_km if distance_km is not None else self.distance_km,
            signed_by=signed_by, signature=signature, product=self.product,
            customer_code=self.customer_code, actor=actor)

    @event("ReportFiled")
    def _report_filed(self, visit: int, engineer: str, mode: str, cause: str, actions: str,
                      parts: list[dict[str, Any]], minutes: int, distance_km: float | None,
                      signed_by: str, signature: dict[str, Any] | None, product: str | None,
                      customer_code: str, actor: str) -> None:
        self.stage = "reported"
        self.reports += 1

    def require_second_visit(self, reason: str, actor: str) -> None:
        self._require_stage("ask for a second visit", ("visited", "reported", "repaired",
                                                       "received"))
        self._second_visit_required(reason=reason, visit=self.visit + 1, actor=actor)

    @event("SecondVisitRequired")
    def _second_visit_required(self, reason: str, visit: int, actor: str) -> None:
        self.visit = visit
        self.appointment_at = None
        self.stage = "accepted"

    # --- a phone answer ---------------------------------------------------------

    def resolve_by_phone(self, summary: str, minutes: int, actor: str) -> None:
        if self.mode != "phone":
            raise InvalidTransition(f"{self.reference} is {self.mode}, not a phone answer: "
                                    "it is completed by its service report")
        if self.stage == "resolved":
            raise InvalidTransition(f"the phone answer of {self.reference} is recorded already")
        self._phone_resolved(engineer=actor, minutes=minutes, summary=summary, visit=1,
                             actor=actor)

    @event("PhoneResolved")
    def _phone_resolved(self, engineer: str, minutes: int, summary: str, visit: int,
                        actor: str) -> None:
        self.stage = "resolved"
        self.engineer = engineer
        self.visit = visit
        self.reports += 1

    # --- checks ---------------------------------------------------------------

    def _require_stage(self, what: str, stages: tuple[str, ...]) -> None:
        if self.stage not in stages:
            raise InvalidTransition(f"cannot {what} on {self.reference}: it is {self.stage} "
                                    f"(allowed when {' or '.join(stages)})")

    def _require_site(self, what: str) -> None:
        if self.mode not in SITE_MODES:
            raise InvalidTransition(f"cannot {what}: {self.reference} is {self.mode}, "
                                    "not an on-site job")

    def _require_workshop(self, what: str) -> None:
        if self.mode not in WORKSHOP_MODES:
            raise InvalidTransition(f"cannot {what}: {self.reference} is {self.mode}, "
                                    "not carry-in or mail-in")
