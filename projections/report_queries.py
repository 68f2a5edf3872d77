"""The reports summary, read from the reports view (projections.reports).

Which rows count: volume, first-response and resolution times and SLA
compliance are over the requests opened in [from, to); replies sent and
resolutions per agent, and satisfaction ratings, over those that happened in
[from, to); the backlog is the requests open now, aged at `now`.  With `team`,
only that team's requests count (a request belongs to the team it was last
transferred to).

Durations and due times are measured by a `Timing`, passed in: the API and the
console pass `business_time(settings)`, built from the `[sla]` settings (the
same ones the inbox's SLA clocks use): durations are business hours of the
request's calendar (`SlaSettings.calendar(team)`: its team's own hours when
`[sla.teams.CODE]` sets them, else the default `[sla.hours]`, holidays
skipped), and a response or resolution is in time when it came by the due
time of its target (type × classification × priority).  `WALL_CLOCK` is the
old measure (elapsed seconds, response targets by priority), and the
wall-clock median and p90 are given beside the business ones
(`wall_clock`).  The view keeps moments, not durations, so either works
without a rebuild.  The backlog's ages are calendar days.  The median is the
middle value (the mean of the two middle ones for an even count); p90 is the
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
from domain.sla.policy import SlaSettings
from domain.text import unsafe_character
from domain.vocabulary import CHANNELS, REQUEST_TYPES
from projections.storage import ViewStorage

# How soon a first answer is due, by priority (what the inbox showed as
# sla_due_at before business time).
RESPONSE_TARGETS = {"urgent": timedelta(hours=1), "high": timedelta(hours=4),
                    "normal": timedelta(hours=8), "low": timedelta(hours=24)}
# First-response histogram: upper bounds in seconds (of the Timing's basis, business
# time for the API and the console); the last bucket is open.
RESPONSE_BUCKETS = (15 * 60, 3600, 4 * 3600, 8 * 3600, 24 * 3600)
# Backlog ages, upper bounds in days.
AGE_BUCKETS = (1, 3, 7, 30)


Row = dict[str, Any]  # a report_requests row: type, classification, priority, team...


@dataclass(frozen=True)
class Timing:
    """How long a request took between two moments, and when a target fell due
    (None: no promise of that kind)."""

    basis: str  # "wall_clock" | "business_time"
    duration: Callable[[Row, datetime, datetime], float]  # seconds from start to end
    due: Callable[[Row, str, datetime], datetime | None]  # (row, target, opened) -> due


def _wall_duration(row: Row, start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def _wall_due(row: Row, target: str, opened: datetime) -> datetime | None:
    if target != "first_response":
        return None
    return opened + RESPONSE_TARGETS.get(row["priority"], RESPONSE_TARGETS["normal"])


WALL_CLOCK = Timing("wall_clock", _wall_duration, _wall_due)


def business_time(sla: SlaSettings) -> Timing:
    """Business hours of the request's calendar, the targets of its SLA."""

    def duration(row: Row, start: datetime, end: datetime) -> float:
        return sla.calendar(row["team"]).between(start, end).total_seconds()

    def due(row: Row, target: str, opened: datetime) -> datetime | None:
        wanted = sla.targets(row["type"], row["classification"] or "", row["priority"])
        promise = wanted.get(target)
        return None if promise is None else sla.calendar(row["team"]).add(opened, promise)

    return Timing("business_time", duration, due)


def timing_of(storage: ViewStorage) -> Timing:
    """Business time by the SLA settings the reports view was built with."""
    settings = getattr(storage.view, "sla", None)
    return business_time(settings if isinstance(settings, SlaSettings) else SlaSettings())


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def p90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])


def summary(storage: ViewStorage, start: datetime, end: datetime, now: datetime,
            team: str | None = None, timing: Timing | None = None) -> dict[str, Any]:
    """The figures; `timing` defaults to business time (`timing_of(storage)`)."""
    timing = timing or timing_of(storage)
    lo, hi = int(start.timestamp()), int(end.timestamp())
    team_sql, team_args = (" AND team = ?", [team]) if team else ("", [])
    opened = storage.query(
        "SELECT channel, type, priority, classification, team, opened_epoch, "
        "first_response_epoch, resolved_epoch "
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
        "sla": {**_sla(opened, "first_response", "first_response_epoch", timing, now),
                "resolution": _sla(opened, "resolution", "resolved_epoch", timing, now)},
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
    done = [r for r in rows if r[column] is not None]
    values = [timing.duration(r, _moment(r["opened_epoch"]), _moment(r[column])) for r in done]
    found: dict[str, Any] = {"count": len(values), "basis": timing.basis,
                             "median_seconds": median(values), "p90_seconds": p90(values)}
    if timing.basis != WALL_CLOCK.basis:
        elapsed = [float(r[column] - r["opened_epoch"]) for r in done]
        found["wall_clock"] = {"median_seconds": median(elapsed), "p90_seconds": p90(elapsed)}
    if histogram:
        counts = [0] * (len(RESPONSE_BUCKETS) + 1)
        for value in values:
            counts[next((i for i, bound in enumerate(RESPONSE_BUCKETS) if value <= bound),
                        len(RESPONSE_BUCKETS))] += 1
        found["histogram"] = [{"upto_seconds": bound, "count": counts[i]}
                              for i, bound in enumerate((*RESPONSE_BUCKETS, None))]
    return found


def _sla(rows: list[dict[str, Any]], target: str, column: str, timing: Timing,
         now: datetime) -> dict[str, Any]:
    """Done (answered, resolved) by the due time, or not; a request not done yet
    counts as late once due, as pending before; one without a promise not at all."""
    within = breached = pending = 0
    for r in rows:
        due = timing.due(r, target, _moment(r["opened_epoch"]))
        if due is None:
            continue
        answered = r[column]
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
        times = report[section]
        for key in ("count", "median_seconds", "p90_seconds"):
            rows.append([section, key, _number(times[key])])
        for key, value in (times.get("wall_clock") or {}).items():
            rows.append([f"{section}_wall_clock", key, _number(value)])
    for target in ("", "resolution"):
        figures = report["sla"][target] if target else report["sla"]
        for key in ("within", "breached", "pending", "compliance"):
            rows.append(["sla_resolution" if target else "sla", key, _number(figures[key])])
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


def _number(value: float | None) -> str:
    """Whole numbers in full (`:g` would write 1.2e+06 seconds), others rounded."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(round(value, 4))


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
