"""The engineers' wage settlement (服务工资结算): one row per completed job — a
field job's signed service report (FieldJob.ReportFiled, one per visit) — with
its engineer, mode, minutes and distance; the report sums them per engineer for
a period and prices them with the deployment's rates (domain.settlement.rates).

Rates are applied when the report is read, not stored in the rows: a change of
rates shows in the next report, and the rows stay exactly what the events say,
so a rebuild always gives the same table.  Each line keeps its band, so payroll
can check an amount against the rate card.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.aggregates.field_job import FieldJob
from domain.settlement.rates import SettlementRates
from projections.field_job_refs import FieldJobRefsView, refs_schema
from projections.storage import ViewStorage
from projections.view import Db, handles, iso


class SettlementView(FieldJobRefsView):
    name = "settlement"
    version = 1
    refs_table = "settlement_refs"
    tables = ("settlement_jobs", "settlement_refs")
    schema = (
        refs_schema(refs_table),
        """CREATE TABLE IF NOT EXISTS settlement_jobs (
            job_id TEXT NOT NULL,
            visit INTEGER NOT NULL,
            position BIGINT NOT NULL,
            reference TEXT NOT NULL,
            engineer TEXT NOT NULL,
            mode TEXT NOT NULL,
            minutes INTEGER NOT NULL,
            distance_km DOUBLE PRECISION,
            completed_at TEXT NOT NULL,
            PRIMARY KEY (job_id, visit)
        )""",
        "CREATE INDEX IF NOT EXISTS settlement_jobs_at ON settlement_jobs (completed_at)",
    )

    def __init__(self, rates: SettlementRates | None = None) -> None:
        self.rates = rates or SettlementRates()

    @classmethod
    def configured(cls, location: Any) -> SettlementView:
        return cls(getattr(location, "settlement", None))

    @handles(FieldJob.ReportFiled)
    def report_filed(self, db: Db, e: Any, position: int) -> None:
        reference = self.reference_of(db, e)
        db.execute(
            "INSERT INTO settlement_jobs (job_id, visit, position, reference, engineer, mode, "
            "minutes, distance_km, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (job_id, visit) DO NOTHING",
            (str(e.originator_id), e.visit, position, reference,
             e.engineer, e.mode, int(e.minutes), e.distance_km, iso(e.timestamp)))


    @handles(FieldJob.PhoneResolved)
    def phone_resolved(self, db: Db, e: Any, position: int) -> None:
        """A phone answer (电话解决) is a completed job of mode phone, no distance."""
        ref = db.one("SELECT reference FROM settlement_refs WHERE job_id = ?",
                     (str(e.originator_id),))
        db.execute(
            "INSERT INTO settlement_jobs (job_id, visit, position, reference, engineer, mode, "
            "minutes, distance_km, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (job_id, visit) DO NOTHING",
            (str(e.originator_id), e.visit, position, ref["reference"] if ref else "",
             e.engineer, "phone", int(e.minutes), None, iso(e.timestamp)))


def rates_of(storage: ViewStorage) -> SettlementRates:
    """The rates the deployment configured (held by the view of this storage)."""
    view = getattr(storage, "view", None)
    return view.rates if isinstance(view, SettlementView) else SettlementRates()


def jobs(storage: ViewStorage, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The completed jobs of [start, end), oldest first, each priced."""
    rates = rates_of(storage)
    rows = storage.query(
        "SELECT reference, visit, engineer, mode, minutes, distance_km, completed_at "
        "FROM settlement_jobs WHERE completed_at >= ? AND completed_at < ? "
        "ORDER BY completed_at, reference, visit", (iso(start), iso(end)))
    for row in rows:
        # the rates in force on the day the job was completed (UTC), not today's
        on = datetime.fromisoformat(row["completed_at"]).date()
        row["amount"] = rates.amount(row["mode"], row["distance_km"], on)
        row["band"] = rates.band_label(row["mode"], row["distance_km"], on)
    return rows


def settlement(storage: ViewStorage, start: datetime, end: datetime) -> dict[str, Any]:
    """Per engineer: completed jobs, minutes and amount, with the jobs by mode; the
    totals; amounts as decimal strings in the configured currency."""
    rates = rates_of(storage)
    lines = jobs(storage, start, end)
    per: dict[str, dict[str, Any]] = {}
    by_mode: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in lines:
        row = per.setdefault(line["engineer"], {"engineer": line["engineer"], "jobs": 0,
                                                "minutes": 0, "amount": Decimal(0)})
        row["jobs"] += 1
        row["minutes"] += line["minutes"]
        row["amount"] += line["amount"]
        by_mode[line["engineer"]][line["mode"]] += 1
    engineers = [{**row, "amount": str(row["amount"]), "by_mode": dict(by_mode[name])}
                 for name, row in sorted(per.items())]
    return {
        "from": iso(start), "to": iso(end), "currency": rates.currency,
        "engineers": engineers,
        "totals": {"jobs": len(lines), "minutes": sum(r["minutes"] for r in lines),
                   "amount": str(sum((r["amount"] for r in lines), Decimal(0)))},
        "jobs": [{**line, "amount": str(line["amount"])} for line in lines],
    }


def csv_rows(report: dict[str, Any]) -> list[list[str]]:
    """For payroll: one line per engineer, then every job with its band and amount."""
    currency = report["currency"]
    rows = [["engineer", "completed_jobs", "minutes", f"amount_{currency}"]]
    rows += [[e["engineer"], str(e["jobs"]), str(e["minutes"]), e["amount"]]
             for e in report["engineers"]]
    rows += [["total", str(report["totals"]["jobs"]), str(report["totals"]["minutes"]),
              report["totals"]["amount"]], []]
    rows.append(["engineer", "reference", "visit", "mode", "distance_km", "band", "minutes",
                 "completed_at", f"amount_{currency}"])
    rows += [[j["engineer"], j["reference"], str(j["visit"]), j["mode"],
              "" if j["distance_km"] is None else f"{j['distance_km']:g}", j["band"],
              str(j["minutes"]), j["completed_at"], j["amount"]] for j in report["jobs"]]
    return rows
