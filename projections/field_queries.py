"""Queries over the field-jobs view (projections.field_jobs): a request's job, an
engineer's jobs, the spare-parts stock."""

from __future__ import annotations

from typing import Any

from domain.access import Principal, require_visible
from domain.errors import NotFound
from projections.field_jobs import JOB_COLUMNS
from projections.registry import ReadModels


def field_job(models: ReadModels, who: Principal, reference: str) -> dict[str, Any] | None:
    """The job of a request as staff see it, or None before the intake."""
    rows = models["field_jobs"].query(
        f"SELECT {', '.join(JOB_COLUMNS)} FROM field_jobs WHERE reference = ?", (reference,))
    if not rows:
        return None
    require_visible(who, rows[0]["customer_code"], f"service request {reference}")
    return rows[0]


def jobs_of(models: ReadModels, engineer: str, teams: list[str], limit: int = 200
            ) -> list[dict[str, Any]]:
    """An engineer's jobs (and their teams' undispatched-to-a-person ones), the
    open ones first, then by appointment."""
    who = [engineer, *teams]
    marks = ", ".join("?" for _ in who)
    return models["field_jobs"].query(
        f"SELECT {', '.join(JOB_COLUMNS)} FROM field_jobs WHERE engineer IN ({marks}) "
        "ORDER BY CASE WHEN stage IN ('reported', 'returned') THEN 1 ELSE 0 END, "
        "appointment_at IS NULL, appointment_at, updated_at DESC LIMIT ?", (*who, limit))


def part(models: ReadModels, sku: str) -> dict[str, Any]:
    rows = models["field_jobs"].query(
        "SELECT warehouse, qty, faulty FROM parts_stock WHERE sku = ? ORDER BY warehouse",
        (sku,))
    known = models["field_jobs"].query("SELECT sku FROM parts WHERE sku = ?", (sku,))
    if not known:
        raise NotFound(f"no part {sku!r} in the store")
    held = models["field_jobs"].query(
        "SELECT engineer, reference, qty FROM parts_held WHERE sku = ? AND qty > 0 "
        "ORDER BY engineer, reference", (sku,))
    return {"sku": sku, "stock": {r["warehouse"]: int(r["qty"]) for r in rows},
            "faulty": {r["warehouse"]: int(r["faulty"]) for r in rows if r["faulty"]},
            "held": held}


def all_parts(models: ReadModels) -> list[dict[str, Any]]:
    """Every SKU with its stock per warehouse, for the admins' stock page."""
    found: dict[str, dict[str, Any]] = {}
    for r in models["field_jobs"].query("SELECT sku FROM parts ORDER BY sku"):
        found[r["sku"]] = {"sku": r["sku"], "stock": {}, "faulty": {}, "held": 0}
    for r in models["field_jobs"].query(
            "SELECT sku, warehouse, qty, faulty FROM parts_stock ORDER BY warehouse"):
        if r["sku"] in found:
            found[r["sku"]]["stock"][r["warehouse"]] = int(r["qty"])
            if r["faulty"]:
                found[r["sku"]]["faulty"][r["warehouse"]] = int(r["faulty"])
    for r in models["field_jobs"].query(
            "SELECT sku, SUM(qty) AS n FROM parts_held GROUP BY sku"):
        if r["sku"] in found:
            found[r["sku"]]["held"] = int(r["n"] or 0)
    return list(found.values())


def parts_held_by(models: ReadModels, engineer: str) -> list[dict[str, Any]]:
    return models["field_jobs"].query(
        "SELECT sku, reference, qty, warehouse FROM parts_held WHERE engineer = ? AND qty > 0 "
        "ORDER BY reference, sku", (engineer,))


def parts_held_for(models: ReadModels, engineer: str, reference: str) -> list[dict[str, Any]]:
    """What `engineer` holds for this request: the parts a report may use."""
    return models["field_jobs"].query(
        "SELECT sku, qty, warehouse FROM parts_held WHERE engineer = ? AND reference = ? "
        "AND qty > 0 "
        "ORDER BY sku", (engineer, reference))
