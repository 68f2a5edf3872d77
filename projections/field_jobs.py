"""Field jobs and spare parts as the console and the API read them (issue 16).

`field_jobs`: one row per request with a field job — its mode, stage, engineer,
appointment and visit number (the stage follows the same rules as
domain.aggregates.field_job).  No personal data is kept here (not the symptom,
not the signer), so an erasure changes nothing in these rows.
`parts_stock` / `parts_held`: quantity per SKU and warehouse (good and faulty),
and what each engineer holds for each request."""

from __future__ import annotations

from typing import Any

from domain.aggregates.field_job import FieldJob as FJ
from domain.aggregates.part_stock import PartStock as PS
from projections.view import Db, View, handles, iso

JOB_COLUMNS = ("reference", "customer_code", "product", "mode", "stage", "engineer",
               "appointment_at", "visit", "warranty", "distance_km", "reports", "updated_at")


class FieldJobsView(View):
    name = "field_jobs"
    version = 1
    tables = ("field_jobs", "parts", "parts_stock", "parts_held")
    schema = (
        """CREATE TABLE IF NOT EXISTS parts (
            part_id TEXT PRIMARY KEY,
            sku TEXT NOT NULL UNIQUE
        )""",
        """CREATE TABLE IF NOT EXISTS field_jobs (
            job_id TEXT PRIMARY KEY,
            reference TEXT NOT NULL UNIQUE,
            customer_code TEXT NOT NULL,
            product TEXT,
            mode TEXT NOT NULL,
            stage TEXT NOT NULL,
            engineer TEXT,
            appointment_at TEXT,
            visit INTEGER NOT NULL,
            warranty TEXT NOT NULL,
            distance_km DOUBLE PRECISION,
            received INTEGER NOT NULL,
            reports INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS field_jobs_engineer ON field_jobs (engineer)",
        """CREATE TABLE IF NOT EXISTS parts_stock (
            sku TEXT NOT NULL,
            warehouse TEXT NOT NULL,
            qty INTEGER NOT NULL,
            faulty INTEGER NOT NULL,
            PRIMARY KEY (sku, warehouse)
        )""",
        """CREATE TABLE IF NOT EXISTS parts_held (
            sku TEXT NOT NULL,
            engineer TEXT NOT NULL,
            reference TEXT NOT NULL,
            qty INTEGER NOT NULL,
            warehouse TEXT NOT NULL,
            PRIMARY KEY (sku, engineer, reference)
        )""",
        "CREATE INDEX IF NOT EXISTS parts_held_engineer ON parts_held (engineer)",
    )

    # --- jobs -------------------------------------------------------------------

    @handles(FJ.Created)
    def created(self, db: Db, e: Any, position: int) -> None:
        db.execute(
            "INSERT INTO field_jobs (job_id, reference, customer_code, product, mode, stage, "
            "engineer, appointment_at, visit, warranty, distance_km, received, reports, "
            "updated_at) VALUES (?, ?, ?, ?, ?, 'intake', NULL, NULL, 0, ?, NULL, 0, 0, ?) "
            "ON CONFLICT (job_id) DO NOTHING",
            (str(e.originator_id), e.reference, e.customer_code, e.product, e.mode,
             e.warranty_checked, iso(e.timestamp)))

    def _job(self, db: Db, e: Any) -> dict[str, Any] | None:
        return db.one("SELECT * FROM field_jobs WHERE job_id = ?", (str(e.originator_id),))

    def _set(self, db: Db, e: Any, **values: Any) -> None:
        values["updated_at"] = iso(e.timestamp)
        assignments = ", ".join(f"{k} = ?" for k in values)
        db.execute(f"UPDATE field_jobs SET {assignments} WHERE job_id = ?",
                   (*values.values(), str(e.originator_id)))

    @handles(FJ.Dispatched)
    def dispatched(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, stage="dispatched", engineer=e.engineer,
                  appointment_at=e.appointment_at, distance_km=e.distance_km, visit=e.visit)

    @handles(FJ.Accepted)
    def accepted(self, db: Db, e: Any, position: int) -> None:
        job = self._job(db, e)
        if job is None:
            return
        stage = "received" if job["received"] else (
            "scheduled" if job["appointment_at"] else "accepted")
        self._set(db, e, stage=stage, engineer=e.engineer)

    @handles(FJ.Declined)
    def declined(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, stage="declined", appointment_at=None)

    @handles(FJ.AppointmentBooked)
    def appointment(self, db: Db, e: Any, position: int) -> None:
        job = self._job(db, e)
        if job is None:
            return
        stage = "scheduled" if job["stage"] == "accepted" else job["stage"]
        self._set(db, e, stage=stage, appointment_at=e.appointment_at)

    @handles(FJ.VisitStarted)
    def visit_started(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, stage="visiting")

    @handles(FJ.VisitEnded)
    def visit_ended(self, db: Db, e: Any, position: int) -> None:
        if e.distance_km is not None:
            self._set(db, e, stage="visited", distance_km=e.distance_km)
        else:
            self._set(db, e, stage="visited")

    @handles(FJ.UnitReceived)
    def unit_received(self, db: Db, e: Any, position: int) -> None:
        job = self._job(db, e)
        if job is None:
            return
        stage = "received" if job["stage"] in ("accepted", "scheduled") else job["stage"]
        self._set(db, e, stage=stage, received=1)

    @handles(FJ.UnitRepaired)
    def unit_repaired(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, stage="repaired")

    @handles(FJ.UnitReturned)
    def unit_returned(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, stage="returned")

    @handles(FJ.ReportFiled)
    def reported(self, db: Db, e: Any, position: int) -> None:
        job = self._job(db, e)
        if job is not None:
            self._set(db, e, stage="reported", reports=int(job["reports"]) + 1)

    @handles(FJ.PhoneResolved)
    def phone_resolved(self, db: Db, e: Any, position: int) -> None:
        job = self._job(db, e)
        if job is not None:
            self._set(db, e, stage="resolved", engineer=e.engineer,
                      reports=int(job["reports"]) + 1)

    @handles(FJ.SecondVisitRequired)
    def second_visit(self, db: Db, e: Any, position: int) -> None:
        self._set(db, e, stage="accepted", visit=e.visit, appointment_at=None)

    # --- parts ------------------------------------------------------------------

    def _stock(self, db: Db, sku: str, warehouse: str, qty: int = 0, faulty: int = 0) -> None:
        db.execute("INSERT INTO parts_stock (sku, warehouse, qty, faulty) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (sku, warehouse) DO UPDATE SET qty = parts_stock.qty + ?, "
                   "faulty = parts_stock.faulty + ?", (sku, warehouse, qty, faulty, qty, faulty))

    def _held(self, db: Db, sku: str, engineer: str, reference: str | None, qty: int,
              warehouse: str = "") -> None:
        """Add (or with a negative qty, take) what an engineer holds; a take
        without a reference comes from their oldest references first, as the
        aggregate takes it."""
        if qty > 0 and reference is not None:
            db.execute("INSERT INTO parts_held (sku, engineer, reference, qty, warehouse) "
                       "VALUES (?, ?, ?, ?, ?) ON CONFLICT (sku, engineer, reference) "
                       "DO UPDATE SET qty = parts_held.qty + ?, warehouse = ?",
                       (sku, engineer, reference, qty, warehouse, qty, warehouse))
            return
        left = -qty
        rows = db.all("SELECT reference, qty FROM parts_held WHERE sku = ? AND engineer = ? "
                      "ORDER BY reference", (sku, engineer))
        for row in rows:
            if reference is not None and row["reference"] != reference:
                continue
            take = min(left, int(row["qty"]))
            db.execute("UPDATE parts_held SET qty = qty - ? WHERE sku = ? AND engineer = ? "
                       "AND reference = ?", (take, sku, engineer, row["reference"]))
            left -= take
            if not left:
                break
        db.execute("DELETE FROM parts_held WHERE sku = ? AND engineer = ? AND qty <= 0",
                   (sku, engineer))

    def _sku(self, db: Db, e: Any) -> str:
        row = db.one("SELECT sku FROM parts WHERE part_id = ?", (str(e.originator_id),))
        return str(row["sku"]) if row else ""

    @handles(PS.Created)
    def part_created(self, db: Db, e: Any, position: int) -> None:
        db.execute("INSERT INTO parts (part_id, sku) VALUES (?, ?) "
                   "ON CONFLICT (part_id) DO NOTHING", (str(e.originator_id), e.sku))

    @handles(PS.Received)
    def part_received(self, db: Db, e: Any, position: int) -> None:
        self._stock(db, self._sku(db, e), e.warehouse, qty=e.qty)

    @handles(PS.Issued)
    def part_issued(self, db: Db, e: Any, position: int) -> None:
        sku = self._sku(db, e)
        self._stock(db, sku, e.warehouse, qty=-e.qty)
        self._held(db, sku, e.engineer, e.reference, e.qty, e.warehouse)

    @handles(PS.Returned)
    def part_returned(self, db: Db, e: Any, position: int) -> None:
        sku = self._sku(db, e)
        if e.condition == "faulty":
            self._stock(db, sku, e.warehouse, faulty=e.qty)
            return
        self._stock(db, sku, e.warehouse, qty=e.qty)
        self._held(db, sku, e.engineer, e.reference, -e.qty)

    @handles(PS.Consumed)
    def part_consumed(self, db: Db, e: Any, position: int) -> None:
        self._held(db, self._sku(db, e), e.engineer, e.reference, -e.qty)
