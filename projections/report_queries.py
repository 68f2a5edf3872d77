"""The reports summary, read from the reports view (projections.reports).

Which rows count: volume, first-response and resolution times and SLA
compliance are over the requests opened in [from, to); replies sent and
resolutions per agent, and satisfaction ratings, over those that happened in
[from, to); the backlog is the requests open now, aged at `now`.  With `team`,
only that team's requests count (a request belongs to the team it was last
transferred to).

Durations are measured by a `Timing` (wall-clock by default: `WALL_CLOCK`);
business time (domain.sla) plugs in as another `Timing` without touching the
view, since the view keeps moments, not durations.  The median is the middle
value (the mean of the two middle ones for an even count); p90 is the
nearest-rank 90th percentile, the smallest value with at least 90 % of the
values at or below it.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.errors import InvalidInput
from domain.text import unsafe_character
from domain.vocabulary import CHANNELS, REQUEST_TYPES
from projections.storage import ViewStorage

# How soon a first answer is due, by priority (what the inbox showed as
# sla_due_at before business time).
RESPONSE_TARGETS = {"urgent": timedelta(hours=1), "high": timedelta(hours=4),
                    "normal": timedelta(hours=8), "low": timedelta(hours=24)}
# First-response histogram: upper bounds in seconds; the last bucket is open.
RESPONSE_BUCKETS = (15 * 60, 3600, 4 * 3600, 8 * 3600, 24 * 3600)
# Backlog ages, upper bounds in days.
AGE_BUCKETS = (1, 3, 7, 30)


@dataclass(frozen=True)
class Timing:
    """How long between two moments, and when a first answer is due."""

    basis: str  # "wall_clock" | "business_time"
    duration: Callable[[datetime, datetime], float]  # seconds from start to end
    response_due: Callable[[datetime, str], datetime]  # (opened, priority) -> due


def _wall_duration(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def _wall_due(opened: datetime, priority: str) -> datetime:
    return opened + RESPONSE_TARGETS.get(priority, RESPONSE_TARGETS["normal"])


WALL_CLOCK = Timing("wall_clock", _wall_duration, _wall_due)


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def p90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])


def summary(storage: ViewStorage, start: datetime, end: datetime, now: datetime,
            team: str | None = None, timing: Timing = WALL_CLOCK) -> dict[str, Any]:
    lo, hi = int(start.timestamp()), int(end.timestamp())
    team_sql, team_args = (" AND team = ?", [team]) if team else ("", [])
    opened = storage.query(
        "SELECT channel, type, priority, opened_epoch, first_response_epoch, resolved_epoch "
        f"FROM report_requests WHERE opened_epoch >= ? AND opened_epoch < ?{team_sql}",
        [lo, hi, *team_args])
    backlog = storage.query(
        "SELECT opened_epoch, assignee FROM report_requests "
        f"WHERE status NOT IN ('resolved', 'closed'){team_sql}", team_args)
    scope = (" AND request_id IN (SELECT id FROM report_requests WHERE team = ?)"
             if team else "")
    replies = storage.query(
        "SELECT actor, COUNT(*) AS n FROM report_replies WHERE at_epoch >= ? AND at_epoch < ?"
        f"{scope} GROUP BY actor", [lo, hi, *team_args])
    resolved = storage.query(
        "SELECT actor, COUNT(*) AS n FROM report_resolutions WHERE at_epoch >= ? "
        f"AND at_epoch < ? AND actor IS NOT NULL{scope} GROUP BY actor", [lo, hi, *team_args])
    ratings = storage.query(
        f"SELECT score FROM report_ratings WHERE at_epoch >= ? AND at_epoch < ?{scope}",
        [lo, hi, *team_args])
    urges = storage.query(
        f"SELECT COUNT(*) AS n FROM report_urges WHERE at_epoch >= ? AND at_epoch < ?{scope}",
        [lo, hi, *team_args])
    return {
        "from": _iso(start), "to": _iso(end), "team": team, "time_basis": timing.basis,
        "volume": _volume(opened),
        "first_response": _times(opened, "first_response_epoch", timing, histogram=True),
        "resolution": _times(opened, "resolved_epoch", timing),
        "sla": _sla(opened, timing, now),
        "backlog": _backlog(backlog, now),
        "satisfaction": _satisfaction([int(r["score"]) for r in ratings]),
        "urges": {"count": int(urges[0]["n"]) if urges else 0},
        "workload": _workload(backlog, replies, resolved),
    }


def _volume(rows: list[dict[str, Any]]) -> dict[str, Any]:
    channels = Counter(r["channel"] for r in rows)
    types = Counter(r["type"] for r in rows)
    return {"total": len(rows),
            "by_channel": {c: channels[c] for c in (*CHANNELS, *sorted(set(channels) - set(
                CHANNELS)))},
            "by_type": {t: types[t] for t in (*REQUEST_TYPES, *sorted(set(types) - set(
                REQUEST_TYPES)))}}


def _moment(epoch: Any) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


def _times(rows: list[dict[str, Any]], column: str, timing: Timing,
           histogram: bool = False) -> dict[str, Any]:
    values = [timing.duration(_moment(r["opened_epoch"]), _moment(r[column]))
              for r in rows if r[column] is not None]
    found: dict[str, Any] = {"count": len(values), "median_seconds": median(values),
                             "p90_seconds": p90(values)}
    if histogram:
        counts = [0] * (len(RESPONSE_BUCKETS) + 1)
        for value in values:
            counts[next((i for i, bound in enumerate(RESPONSE_BUCKETS) if value <= bound),
                        len(RESPONSE_BUCKETS))] += 1
        found["histogram"] = [{"upto_seconds": bound, "count": counts[i]}
                              for i, bound in enumerate((*RESPONSE_BUCKETS, None))]
    return found


def _sla(rows: list[dict[str, Any]], timing: Timing, now: datetime) -> dict[str, Any]:
    """Responded before the due time, or not; an unanswered request counts once due."""
    within = breached = pending = 0
    for r in rows:
        due = timing.response_due(_moment(r["opened_epoch"]), r["priority"])
        answered = r["first_response_epoch"]
        if answered is not None:
            if _moment(answered) <= due:
                within += 1
            else:
                breached += 1
        elif now > due:
            breached += 1
        else:
            pending += 1
    judged = within + breached
    return {"within": within, "breached": breached, "pending": pending,
            "compliance": within / judged if judged else None}


def _backlog(rows: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    counts = [0] * (len(AGE_BUCKETS) + 1)
    for r in rows:
        days = (now - _moment(r["opened_epoch"])).total_seconds() / 86400
        counts[next((i for i, bound in enumerate(AGE_BUCKETS) if days < bound),
                    len(AGE_BUCKETS))] += 1
    return {"total": len(rows),
            "by_age": [{"upto_days": bound, "count": counts[i]}
                       for i, bound in enumerate((*AGE_BUCKETS, None))]}


def _satisfaction(scores: list[int]) -> dict[str, Any]:
    spread = Counter(scores)
    return {"count": len(scores),
            "average": round(sum(scores) / len(scores), 2) if scores else None,
            "distribution": {str(n): spread[n] for n in range(1, 6)}}


def _workload(backlog: list[dict[str, Any]], replies: list[dict[str, Any]],
              resolved: list[dict[str, Any]]) -> list[dict[str, Any]]:
    agents: dict[str, dict[str, Any]] = {}

    def row(agent: str) -> dict[str, Any]:
        return agents.setdefault(agent, {"agent": agent, "open_assigned": 0,
                                         "replies_sent": 0, "resolved": 0})

    for r in backlog:
        if r["assignee"]:
            row(r["assignee"])["open_assigned"] += 1
    for r in replies:
        row(r["actor"])["replies_sent"] += int(r["n"])
    for r in resolved:
        row(r["actor"])["resolved"] += int(r["n"])
    return [agents[a] for a in sorted(agents)]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def csv_rows(report: dict[str, Any]) -> list[list[str]]:
    """The summary flattened to (section, key, value) rows for the CSV export."""
    rows = [["section", "key", "value"], ["period", "from", report["from"]],
            ["period", "to", report["to"]], ["period", "team", report["team"] or ""],
            ["period", "time_basis", report["time_basis"]],
            ["volume", "total", str(report["volume"]["total"])]]
    rows += [["volume_by_channel", k, str(v)] for k, v in report["volume"]["by_channel"].items()]
    rows += [["volume_by_type", k, str(v)] for k, v in report["volume"]["by_type"].items()]
    for section in ("first_response", "resolution"):
        for key in ("count", "median_seconds", "p90_seconds"):
            value = report[section][key]
            rows.append([section, key, "" if value is None else f"{value:g}"])
    for key, value in report["sla"].items():
        rows.append(["sla", key, "" if value is None else f"{value:g}"])
    rows += [["backlog_by_age_days", "" if b["upto_days"] is None else f"<{b['upto_days']}",
              str(b["count"])] for b in report["backlog"]["by_age"]]
    csat = report["satisfaction"]
    rows += [["satisfaction", "count", str(csat["count"])],
             ["satisfaction", "average", "" if csat["average"] is None else str(csat["average"])]]
    rows += [["satisfaction_score", k, str(v)] for k, v in csat["distribution"].items()]
    rows.append(["urges", "count", str(report["urges"]["count"])])
    for agent in report["workload"]:
        for key in ("open_assigned", "replies_sent", "resolved"):
            rows.append([f"workload:{agent['agent']}", key, str(agent[key])])
    return rows


MAX_TEAM = 64
DEFAULT_DAYS = 30


def period(params: dict[str, str], now: datetime) -> tuple[datetime, datetime, str | None]:
    """(start, end, team) from `from`, `to` and `team` as the API and the console
    take them: a date (YYYY-MM-DD, UTC; `to` includes its whole day) or an ISO
    date-time with its zone (`to` excluded); without `to`, now; without
    `from`, 30 days before `to`.  Anything else is an InvalidInput naming the
    parameter."""
    end = _parsed(params.get("to"), "to", end=True) or now
    try:
        start = _parsed(params.get("from"), "from") or end - timedelta(days=DEFAULT_DAYS)
    except OverflowError:  # `to` in the first month of the calendar
        start = datetime.min.replace(tzinfo=UTC)
    # `from` after `to`: an empty period, whose figures are all zero (the truth).
    team = (params.get("team") or "").strip() or None
    if team is not None and (len(team) > MAX_TEAM or unsafe_character(team) is not None
                             or any(c.isspace() for c in team)):
        raise InvalidInput("team is not a team code", fields={"team": "not a team code"})
    return start, end, team


def _parsed(raw: str | None, name: str, end: bool = False) -> datetime | None:
    if not raw:
        return None
    problem = InvalidInput(f"{name} must be a date (YYYY-MM-DD) or an ISO date-time",
                           fields={name: "a date (YYYY-MM-DD) or an ISO date-time"})
    if len(raw) > 40 or not raw.isascii() or unsafe_character(raw) is not None:
        raise problem
    day = len(raw) == 10
    try:
        moment = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC) if day else \
            datetime.fromisoformat(raw.upper().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise problem
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise problem from None
    try:
        return moment + timedelta(days=1) if day and end else moment
    except OverflowError:  # the calendar's last day
        return datetime.max.replace(tzinfo=UTC)
