"""The JSON commands of field service and spare parts (issue 16; CONTRACT.md,
"Field service and returns" and "Spare parts"), mounted by channels.web.api.

Routes beyond the contract's: `POST /products/{serial}/agreements` (the unit's
service agreements, which decide warranty at intake), `/appointment`, `/visit/start`, `/visit/end`,
`/unit/received`, `/unit/repaired`, `/unit/returned`; optional fields beyond its
bodies: the intake's paid-service fields (`price_policy`, `price`,
`price_accepted`, `accepted_by`), `distance_km` (dispatch, visit end, report:
for the wage settlement), the report's `signature` (a PNG, base64 or a data
URL) and a return's `reference`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.web.json_input import (
    expected_version,
    optional_date,
    optional_moment,
    optional_text,
    text,
)
from channels.web.signature import store_signature
from domain.access import Principal
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.errors import invalid
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
    ReturnUnit,
    StartVisit,
)
from domain.installed_base.commands import AddServiceAgreement
from domain.parts.commands import IssueParts, ReceiveParts, ReturnParts

Body = dict[str, Any]
MAX_PARTS = 50
INTAKE_FIELDS = ("symptom", "warranty", "level", "mode", "price_policy", "price",
                 "price_accepted", "accepted_by")
REPORT_FIELDS = ("cause", "actions", "parts", "minutes", "signed_by", "signature",
                 "distance_km")
PART_FIELDS = frozenset({"sku", "warehouse", "qty", "faulty_serials"})


def field_routes(app: Ledgerdesk, blobs: BlobStore | None) -> list[Route]:
    from channels.web.api import CommandRoute  # api.py includes these (no import cycle)

    f = FieldCommands(app, blobs)
    job = "/service-requests/{ref}"
    return [
        CommandRoute(f"{job}/intake", "POST", "dispatch", f.intake, INTAKE_FIELDS),
        CommandRoute(f"{job}/dispatch", "POST", "dispatch", f.dispatch,
                     ("engineer", "appointment_at", "distance_km", "expected_version")),
        CommandRoute(f"{job}/dispatch/accept", "POST", "field_work", f.accept, ()),
        CommandRoute(f"{job}/dispatch/decline", "POST", "field_work", f.decline, ("reason",)),
        CommandRoute(f"{job}/appointment", "POST", "field_work", f.appointment,
                     ("appointment_at", "note")),
        CommandRoute(f"{job}/visit/start", "POST", "field_work", f.start_visit, ()),
        CommandRoute(f"{job}/visit/end", "POST", "field_work", f.end_visit, ("distance_km",)),
        CommandRoute(f"{job}/unit/received", "POST", "field_work", f.unit_received,
                     ("tracking_number", "carrier")),
        CommandRoute(f"{job}/unit/repaired", "POST", "field_work", f.unit_repaired, ()),
        CommandRoute(f"{job}/unit/returned", "POST", "field_work", f.unit_returned,
                     ("tracking_number", "carrier")),
        CommandRoute(f"{job}/service-report", "POST", "field_work", f.report, REPORT_FIELDS),
        CommandRoute(f"{job}/second-visit", "POST", "field_work", f.second_visit, ("reason",)),
        CommandRoute("/products/{serial}/agreements", "POST", "manage_products", f.agreement,
                     ("code", "starts_on", "ends_on", "level")),
        CommandRoute("/parts/{sku}/receive", "POST", "manage_parts", f.receive_parts,
                     ("warehouse", "qty")),
        CommandRoute("/parts/{sku}/issue", "POST", "issue_parts", f.issue_parts,
                     ("warehouse", "engineer", "qty", "reference")),
        CommandRoute("/parts/{sku}/return", "POST", "issue_parts", f.return_parts,
                     ("warehouse", "engineer", "qty", "condition", "fault_label", "reference")),
    ]


def whole_number(body: Body, field: str) -> int:
    value = body.get(field)
    if value is None:
        raise invalid(field, f"{field} is required")
    found = integral(value)
    if found is None:
        raise invalid(field, f"{field} must be a whole number")
    return found


def integral(value: Any) -> int | None:
    """A JSON whole number: 3, or 3.0 (JSON Schema's integer admits both)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def optional_number(body: Body, field: str) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise invalid(field, f"{field} must be a number")
    return float(value)


def optional_flag(body: Body, field: str) -> bool | None:
    value = body.get(field)
    if value is not None and not isinstance(value, bool):
        raise invalid(field, f"{field} must be true or false")
    return value


def optional_price(body: Body, field: str) -> str | float | None:
    value = body.get(field)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(field, f"{field} must be a number or a decimal string")
    return float(value) if isinstance(value, float) else str(value)


def day(body: Body, field: str) -> str:
    found = optional_date(body, field)
    if found is None:
        raise invalid(field, f"{field} is required")
    return found


def moment_text(body: Body, field: str) -> str | None:
    moment = optional_moment(body, field)
    return moment.isoformat() if moment is not None else None


def parts_used(body: Body) -> tuple[PartUsed, ...]:
    value = body.get("parts")
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_PARTS:
        raise invalid("parts", f"parts is a list of at most {MAX_PARTS} parts")
    found = []
    for item in value:
        if not isinstance(item, dict):
            raise invalid("parts", "each part is {sku, warehouse, qty, faulty_serials?}")
        unknown = sorted(set(item) - PART_FIELDS)
        if unknown:
            raise invalid("parts", f"a part has no field {unknown[0]!r}")
        serials = item.get("faulty_serials") or []
        if not isinstance(serials, list) or not all(isinstance(s, str) for s in serials):
            raise invalid("parts", "faulty_serials is a list of serial numbers")
        for name in ("sku", "warehouse"):
            if not isinstance(item.get(name), str):
                raise invalid("parts", f"each part needs {name} (a string)")
        qty = integral(item.get("qty"))
        if qty is None:
            raise invalid("parts", "each part needs qty (a whole number)")
        found.append(PartUsed(item["sku"], item["warehouse"], qty, tuple(serials)))
    return tuple(found)


class FieldCommands:
    def __init__(self, app: Ledgerdesk, blobs: BlobStore | None) -> None:
        self.app = app
        self.blobs = blobs

    async def _handle(self, command: object) -> Any:
        return await run_in_threadpool(self.app.handle, command)

    async def _done(self, command: object, status: int = 200) -> Response:
        await self._handle(command)
        return JSONResponse({}, status_code=status)

    async def intake(self, request: Request, who: Principal, body: Body) -> Response:
        reference = request.path_params["ref"]
        warranty = await self._handle(RecordIntake(
            reference, text(body, "symptom"), text(body, "warranty"), text(body, "mode"),
            actor=who.email, level=optional_text(body, "level"),
            price_policy=optional_text(body, "price_policy"),
            price=optional_price(body, "price"),
            price_accepted=optional_flag(body, "price_accepted"),
            accepted_by=text(body, "accepted_by", ""),
        ))
        return JSONResponse({"reference": reference, "warranty": warranty}, status_code=201)

    async def dispatch(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(Dispatch(
            request.path_params["ref"], text(body, "engineer"), actor=who.email,
            appointment_at=moment_text(body, "appointment_at"),
            distance_km=optional_number(body, "distance_km"),
            expected_version=expected_version(body)))

    async def accept(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(AcceptDispatch(request.path_params["ref"], actor=who.email))

    async def decline(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(DeclineDispatch(request.path_params["ref"],
                                                text(body, "reason"), actor=who.email))

    async def appointment(self, request: Request, who: Principal, body: Body) -> Response:
        at = moment_text(body, "appointment_at")
        if at is None:
            raise invalid("appointment_at", "appointment_at is required")
        return await self._done(BookAppointment(request.path_params["ref"], at,
                                                actor=who.email, note=text(body, "note", "")))

    async def start_visit(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(StartVisit(request.path_params["ref"], actor=who.email))

    async def end_visit(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(EndVisit(request.path_params["ref"], actor=who.email,
                                         distance_km=optional_number(body, "distance_km")))

    async def unit_received(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(ReceiveUnit(
            request.path_params["ref"], actor=who.email,
            tracking_number=text(body, "tracking_number", ""), carrier=text(body, "carrier", "")))

    async def unit_repaired(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(RepairUnit(request.path_params["ref"], actor=who.email))

    async def unit_returned(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(ReturnUnit(
            request.path_params["ref"], actor=who.email,
            tracking_number=text(body, "tracking_number", ""), carrier=text(body, "carrier", "")))

    async def report(self, request: Request, who: Principal, body: Body) -> Response:
        command = FileServiceReport(
            request.path_params["ref"], text(body, "cause"), text(body, "actions"),
            whole_number(body, "minutes"), text(body, "signed_by"), actor=who.email,
            parts=parts_used(body), distance_km=optional_number(body, "distance_km"))
        raw = text(body, "signature", "")
        signature = await run_in_threadpool(store_signature, self.blobs, raw) if raw else None
        return await self._done(replace(command, signature=signature), 201)

    async def second_visit(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(RequireSecondVisit(request.path_params["ref"],
                                                   text(body, "reason"), actor=who.email))

    async def agreement(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(AddServiceAgreement(
            request.path_params["serial"], text(body, "code"), day(body, "starts_on"),
            day(body, "ends_on"), actor=who.email, level=optional_text(body, "level")), 201)

    async def receive_parts(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(ReceiveParts(request.path_params["sku"],
                                             text(body, "warehouse"),
                                             whole_number(body, "qty"), actor=who.email))

    async def issue_parts(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(IssueParts(
            request.path_params["sku"], text(body, "warehouse"), text(body, "engineer"),
            whole_number(body, "qty"), text(body, "reference"), actor=who.email))

    async def return_parts(self, request: Request, who: Principal, body: Body) -> Response:
        return await self._done(ReturnParts(
            request.path_params["sku"], text(body, "warehouse"), text(body, "engineer"),
            whole_number(body, "qty"), text(body, "condition"), actor=who.email,
            fault_label=text(body, "fault_label", ""),
            reference=optional_text(body, "reference")))
