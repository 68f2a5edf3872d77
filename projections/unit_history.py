"""The installed base's part-replacement history (备件更换记录, seed 000/002): every
part a signed service report used on a unit, with the faulty serials it
replaced, by the unit's serial — whoever owned the unit then, so the history
follows the unit (a report's parts, serials and engineer are plain facts and
survive an erasure of the owner) — and the unit's service agreements (服务协议,
InstalledProduct.AgreementAdded: code, level, coverage dates), which also belong
to the unit.
"""

from __future__ import annotations

from typing import Any

from domain.aggregates.field_job import FieldJob
from domain.aggregates.installed_product import InstalledProduct
from projections.field_job_refs import FieldJobRefsView, refs_schema
from projections.storage import ViewStorage
from projections.view import Db, from_json, handles, iso, to_json


class UnitHistoryView(FieldJobRefsView):
    name = "unit_history"
    version = 2
    refs_table = "unit_history_refs"
    tables = ("unit_parts", "unit_history_refs", "unit_serials", "unit_agreements")
    schema = (
        refs_schema(refs_table),
        """CREATE TABLE IF NOT EXISTS unit_serials (
            product_id TEXT PRIMARY KEY,
            serial TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS unit_agreements (
            position BIGINT PRIMARY KEY,
            serial TEXT NOT NULL,
            code TEXT NOT NULL,
            level TEXT,
            starts_on TEXT NOT NULL,
            ends_on TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS unit_agreements_serial ON unit_agreements (serial)",
        """CREATE TABLE IF NOT EXISTS unit_parts (
            position BIGINT NOT NULL,
            line INTEGER NOT NULL,
            serial TEXT NOT NULL,
            reference TEXT NOT NULL,
            visit INTEGER NOT NULL,
            sku TEXT NOT NULL,
            warehouse TEXT NOT NULL,
            qty INTEGER NOT NULL,
            faulty_serials TEXT NOT NULL,
            engineer TEXT NOT NULL,
            replaced_at TEXT NOT NULL,
            PRIMARY KEY (position, line)
        )""",
        "CREATE INDEX IF NOT EXISTS unit_parts_serial ON unit_parts (serial, position)",
    )

    @handles(FieldJob.ReportFiled)
    def report_filed(self, db: Db, e: Any, position: int) -> None:
        if not e.product or not e.parts:
            return
        reference = self.reference_of(db, e)
        for line, part in enumerate(e.parts):
            db.execute(
                "INSERT INTO unit_parts (position, line, serial, reference, visit, sku, "
                "warehouse, qty, faulty_serials, engineer, replaced_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (position, line) DO NOTHING",
                (position, line, e.product, reference, e.visit,
                 str(part.get("sku", "")), str(part.get("warehouse", "")),
                 int(part.get("qty", 0)), to_json(list(part.get("faulty_serials") or [])),
                 e.engineer, iso(e.timestamp)))


    @handles(InstalledProduct.Registered)
    def product_registered(self, db: Db, e: Any, position: int) -> None:
        db.execute("INSERT INTO unit_serials (product_id, serial) VALUES (?, ?) "
                   "ON CONFLICT (product_id) DO NOTHING", (str(e.originator_id), e.serial))

    @handles(InstalledProduct.AgreementAdded)
    def agreement_added(self, db: Db, e: Any, position: int) -> None:
        unit = db.one("SELECT serial FROM unit_serials WHERE product_id = ?",
                      (str(e.originator_id),))
        if unit is None:
            return
        db.execute("INSERT INTO unit_agreements (position, serial, code, level, starts_on, "
                   "ends_on) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING",
                   (position, unit["serial"], e.code, e.level, e.starts_on, e.ends_on))


def agreements(storage: ViewStorage, serial: str, today: str) -> list[dict[str, Any]]:
    """The unit's service agreements, by start, each with `in_force` on `today`
    (an ISO date: from starts_on to ends_on, both included)."""
    rows = storage.query(
        "SELECT code, level, starts_on, ends_on FROM unit_agreements WHERE serial = ? "
        "ORDER BY starts_on, position", (serial,))
    for row in rows:
        row["in_force"] = row["starts_on"] <= today <= row["ends_on"]
    return rows


def part_history(storage: ViewStorage, serial: str) -> list[dict[str, Any]]:
    """The unit's part replacements, oldest first."""
    rows = storage.query(
        "SELECT reference, visit, sku, warehouse, qty, faulty_serials, engineer, replaced_at "
        "FROM unit_parts WHERE serial = ? ORDER BY position, line", (serial,))
    for row in rows:
        row["faulty_serials"] = from_json(row["faulty_serials"]) or []
    return rows
