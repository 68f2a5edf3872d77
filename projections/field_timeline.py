"""The field-service steps in the request's timeline (issue 16): a mixin of
TimelineView, so a FieldJob's events land in the rows of the request they are
about (its id derives from the reference) and erasure re-derives them with the
request's other rows.

Kinds: `intake`, `dispatch` (data.step: dispatched | accepted),
`dispatch_declined` (internal: the engineer's reason), `appointment`, `visit`
(data.step: started | ended), `unit` (data.step: received | repaired |
returned), `service_report` (the signature as the entry's attachment, so the
request's attachment links open it), `second_visit`, `phone_resolution` (the
answer's summary, internal)."""

from __future__ import annotations

from typing import Any

from domain import ids
from domain.aggregates.field_job import FieldJob as FJ
from projections.view import Db, handles

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS timeline_field_jobs (
        job_id TEXT PRIMARY KEY,
        reference TEXT NOT NULL
    )""",
)


class FieldTimeline:
    def _add(self, db: Db, e: Any, position: int, kind: str, **kwargs: Any) -> None:
        raise NotImplementedError  # TimelineView's

    @handles(FJ.Created)
    def field_intake(self, db: Db, e: Any, position: int) -> None:
        db.execute("INSERT INTO timeline_field_jobs (job_id, reference) VALUES (?, ?) "
                   "ON CONFLICT (job_id) DO NOTHING", (str(e.originator_id), e.reference))
        self._add(db, e, position, "intake", request_id=str(ids.request_id(e.reference)),
                  body=e.symptom, mode=e.mode, warranty=e.warranty,
                  warranty_checked=e.warranty_checked, warranty_basis=e.warranty_basis,
                  level=e.level, price_policy=e.price_policy, price=e.price,
                  price_accepted=e.price_accepted, accepted_by=e.accepted_by)

    @handles(FJ.Dispatched)
    def field_dispatched(self, db: Db, e: Any, position: int) -> None:
        self._job(db, e, position, "dispatch", step="dispatched", to=e.engineer,
                  appointment_at=e.appointment_at, distance_km=e.distance_km, visit=e.visit)

    @handles(FJ.Accepted)
    def field_accepted(self, db: Db, e: Any, position: int) -> None:
        self._job(db, e, position, "dispatch", step="accepted", to=e.engineer, visit=e.visit)

    @handles(FJ.Declined)
    def field_declined(self, db: Db, e: Any, position: int) -> None:
        self._job(db, e, position, "dispatch_declined", body=e.reason, visit=e.visit)

    @handles(FJ.AppointmentBooked)
    def field_appointment(self, db: Db, e: Any, position: int) -> None:
        self._job(db, e, position, "appointment", body=e.note, appointment_at=e.appointment_at,
                  visit=e.visit)

    @handles(FJ.VisitStarted, FJ.VisitEnded)
    def field_visit(self, db: Db, e: Any, position: int) -> None:
        ended = isinstance(e, FJ.VisitEnded)
        self._job(db, e, position, "visit", step="ended" if ended else "started",
                  visit=e.visit, distance_km=e.distance_km if ended else None)

    @handles(FJ.UnitReceived, FJ.UnitRepaired, FJ.UnitReturned)
    def field_unit(self, db: Db, e: Any, position: int) -> None:
        step = {FJ.UnitReceived: "received", FJ.UnitRepaired: "repaired",
                FJ.UnitReturned: "returned"}[type(e)]
        self._job(db, e, position, "unit", step=step,
                  tracking_number=getattr(e, "tracking_number", ""),
                  carrier=getattr(e, "carrier", ""))

    @handles(FJ.ReportFiled)
    def field_report(self, db: Db, e: Any, position: int) -> None:
        self._job(db, e, position, "service_report", body=e.actions,
                  attachments=[e.signature] if e.signature else [], visit=e.visit,
                  engineer=e.engineer, mode=e.mode, cause=e.cause, parts=e.parts,
                  minutes=e.minutes, distance_km=e.distance_km, signed_by=e.signed_by,
                  signed=bool(e.signature))

    @handles(FJ.SecondVisitRequired)
    def field_second_visit(self, db: Db, e: Any, position: int) -> None:
        self._job(db, e, position, "second_visit", body=e.reason, visit=e.visit)

    @handles(FJ.PhoneResolved)
    def field_phone_resolved(self, db: Db, e: Any, position: int) -> None:
        self._job(db, e, position, "phone_resolution", body=e.summary, engineer=e.engineer,
                  minutes=e.minutes)

    def _job(self, db: Db, e: Any, position: int, kind: str, **kwargs: Any) -> None:
        """Events after Created do not carry the reference: it is kept per job id."""
        row = db.one("SELECT reference FROM timeline_field_jobs WHERE job_id = ?",
                     (str(e.originator_id),))
        if row is None:
            return
        self._add(db, e, position, kind, request_id=str(ids.request_id(row["reference"])),
                  **kwargs)
