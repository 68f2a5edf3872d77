"""Quality cases (质量反馈) as the quality and product teams work them: one row
per case, with its product, batch, symptom, status and conclusion, listed per
team queue (`team:quality`, `team:product`) and status."""

from __future__ import annotations

from typing import Any

from domain.aggregates.quality_case import QUALITY_STATUSES
from domain.aggregates.quality_case import QualityCase as QC
from domain.errors import NotFound, invalid
from projections.storage import ViewStorage
from projections.view import Db, View, from_json, handles, iso, to_json

COLUMNS = ("code", "source_reference", "origin", "product", "batch", "serial", "symptom",
           "teams", "status", "raised_by", "raised_at", "investigator", "conclusion",
           "concluded_at", "updated_at")


class QualityView(View):
    name = "quality"
    version = 1
    tables = ("quality_cases",)
    schema = (
        """CREATE TABLE IF NOT EXISTS quality_cases (
            case_id TEXT PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            source_reference TEXT NOT NULL,
            origin TEXT NOT NULL,
            product TEXT NOT NULL,
            batch TEXT NOT NULL,
            serial TEXT,
            symptom TEXT NOT NULL,
            teams TEXT NOT NULL,
            status TEXT NOT NULL,
            raised_by TEXT NOT NULL,
            raised_at TEXT NOT NULL,
            investigator TEXT,
            conclusion TEXT NOT NULL,
            concluded_at TEXT,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS quality_cases_raised ON quality_cases (raised_at)",
    )

    @handles(QC.Raised)
    def raised(self, db: Db, e: Any, position: int) -> None:
        at = iso(e.timestamp)
        db.execute(
            "INSERT INTO quality_cases (case_id, code, source_reference, origin, product, "
            "batch, serial, symptom, teams, status, raised_by, raised_at, conclusion, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, '', ?) "
            "ON CONFLICT (case_id) DO NOTHING",
            (str(e.originator_id), e.code, e.source_reference, e.origin, e.product, e.batch,
             e.serial, e.symptom, to_json(list(e.teams)), e.actor, at, at))

    @handles(QC.InvestigationStarted)
    def investigating(self, db: Db, e: Any, position: int) -> None:
        db.execute("UPDATE quality_cases SET status = 'investigating', investigator = ?, "
                   "updated_at = ? WHERE case_id = ?",
                   (e.actor, iso(e.timestamp), str(e.originator_id)))

    @handles(QC.Concluded)
    def concluded(self, db: Db, e: Any, position: int) -> None:
        db.execute("UPDATE quality_cases SET status = 'concluded', conclusion = ?, "
                   "concluded_at = ?, updated_at = ? WHERE case_id = ?",
                   (e.conclusion, iso(e.timestamp), iso(e.timestamp), str(e.originator_id)))


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {**{k: row[k] for k in COLUMNS}, "teams": from_json(row["teams"]) or []}


def quality_cases(storage: ViewStorage, team: str | None = None, status: str | None = None,
                  limit: int = 200) -> list[dict[str, Any]]:
    """The newest first; `team` a team code (quality, product) or `team:CODE`."""
    if status and status not in QUALITY_STATUSES:
        raise invalid("status", f"status is one of {', '.join(QUALITY_STATUSES)}")
    where: list[str] = []
    args: list[str] = []
    if status:
        where.append("status = ?")
        args.append(status)
    rows = storage.query(
        f"SELECT * FROM quality_cases {'WHERE ' + ' AND '.join(where) if where else ''} "
        "ORDER BY raised_at DESC, code", args)
    items = [_item(r) for r in rows]
    if team:
        code = team.removeprefix("team:")
        items = [i for i in items if code in i["teams"]]
    return items[:limit]


def quality_case(storage: ViewStorage, code: str) -> dict[str, Any]:
    rows = storage.query("SELECT * FROM quality_cases WHERE code = ?", (code.strip().upper(),))
    if not rows:
        raise NotFound(f"no quality case {code!r}")
    return _item(rows[0])
