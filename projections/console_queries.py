"""The console's own queries: its inbox list with customers' names, the
sidebar's queue counts, the customer list.  The API's queries, which the
console shares, are in projections.queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain import phones
from domain.access import Principal
from domain.vocabulary import OPEN_STATUSES
from projections.queries import SLA_AT_RISK, SLA_RISK_WINDOW, inbox, like_pattern
from projections.registry import ReadModels
from projections.view import iso


def inbox_page(models: ReadModels, who: Principal, params: dict[str, str]) -> dict[str, Any]:
    """The console's list: /inbox's query plus search in message text, and the
    customers' names beside their codes."""
    found = inbox(models, who, params)
    codes = sorted({item["customer_code"] for item in found["items"]})
    names: dict[str, str] = {}
    if codes:
        marks_ = ", ".join("?" for _ in codes)
        names = {r["code"]: r["name"] for r in models["customers"].query(
            f"SELECT code, name FROM customers WHERE code IN ({marks_})", codes)}
    for item in found["items"]:
        item["customer_name"] = names.get(item["customer_code"], "")
    return found


def queue_counts(models: ReadModels, who: Principal) -> dict[str, int]:
    """How many requests each queue of the console's sidebar holds."""
    open_marks = ", ".join("?" for _ in OPEN_STATUSES)
    open_args = list(OPEN_STATUSES)
    risk = iso(datetime.now(UTC) + SLA_RISK_WINDOW)
    [row] = models["inbox"].query(
        f"""SELECT
              SUM(CASE WHEN status IN ({open_marks}) THEN 1 ELSE 0 END) AS open,
              SUM(CASE WHEN status IN ({open_marks}) AND assignee IS NULL THEN 1 ELSE 0 END)
                AS unassigned,
              SUM(CASE WHEN status IN ({open_marks}) AND assignee = ? THEN 1 ELSE 0 END) AS mine,
              SUM(CASE WHEN status = 'pending_customer' THEN 1 ELSE 0 END) AS pending_customer,
              SUM(CASE WHEN status = 'escalated' THEN 1 ELSE 0 END) AS escalated,
              SUM(CASE WHEN status IN ({open_marks}) AND {SLA_AT_RISK} THEN 1 ELSE 0 END)
                AS sla_at_risk,
              SUM(CASE WHEN status IN ({open_marks}) AND delivery_failed = 1 THEN 1 ELSE 0 END)
                AS delivery_failed,
              SUM(CASE WHEN fax_unverified > 0 THEN 1 ELSE 0 END) AS fax_verification
            FROM inbox WHERE status IN ({open_marks})""",
        [*open_args, *open_args, *open_args, who.email, *open_args, risk, *open_args,
         *open_args])
    counts = {name: int(value or 0) for name, value in row.items()}
    for r in models["inbox"].query(
            f"SELECT channel, COUNT(*) AS n FROM inbox WHERE status IN ({open_marks}) "
            f"GROUP BY channel", open_args):
        counts[f"channel:{r['channel']}"] = int(r["n"])
    return counts


def customer_list(models: ReadModels, text: str = "", limit: int = 100) -> list[dict[str, Any]]:
    """Customers for the console's list, by code, optionally those whose code,
    name or identities hold `text`.  A phone or fax number is looked for in each
    spelling it may be stored in (E.164 now, the digits as typed before)."""
    where, args = "", []
    if text.strip():
        pattern = like_pattern(text.strip())
        where = ("WHERE LOWER(code) LIKE ? ESCAPE '\\' OR LOWER(name) LIKE ? ESCAPE '\\' "
                 "OR LOWER(identities) LIKE ? ESCAPE '\\'")
        args = [pattern, pattern, pattern]
        if sum(c.isdigit() for c in text) >= 5:
            for spelling in phones.earlier_spellings(text):
                where += " OR identities LIKE ? ESCAPE '\\'"
                args.append(like_pattern(spelling))
    return models["customers"].query(
        "SELECT code, name, kind, classification, provisional, merged_into, representative, "
        f"registered_at FROM customers {where} ORDER BY code LIMIT ?", [*args, limit])


def team_counts(models: ReadModels) -> dict[str, dict[str, int]]:
    """Per team code: its open requests, and how many of them nobody has taken."""
    open_marks = ", ".join("?" for _ in OPEN_STATUSES)
    rows = models["inbox"].query(
        f"""SELECT team, COUNT(*) AS open,
                   SUM(CASE WHEN assignee IS NULL THEN 1 ELSE 0 END) AS unassigned
            FROM inbox WHERE team IS NOT NULL AND status IN ({open_marks}) GROUP BY team""",
        list(OPEN_STATUSES))
    return {r["team"]: {"open": int(r["open"]), "unassigned": int(r["unassigned"] or 0)}
            for r in rows}
