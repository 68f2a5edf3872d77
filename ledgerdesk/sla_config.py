"""The `[sla]` section of `ledgerdesk.toml`, read into domain.sla.policy.SlaSettings.

Absent keys take the defaults (Mon–Fri 09:00–18:00 Asia/Shanghai; first and
next response urgent 1 h, high 4 h, normal 8 h, low 24 h of business time).
Durations are hours of business time (decimals allowed); the hand-over is in
minutes of real time, since a phone caller waits in real time.  A mistake is a
ConfigError naming the key, at start-up rather than when a timer first runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from domain.business_time import BusinessCalendar, parse_hours
from domain.sla.policy import ANY, DEFAULT_TARGETS, TARGETS, Handover, Rule, SlaSettings, Targets

CALENDAR_KEYS = ("zone", "holidays", "workdays")


class SlaConfigError(ValueError):
    """Raised with the key at fault; ledgerdesk.config turns it into a ConfigError."""


def sla_settings(section: Mapping[str, Any] | None) -> SlaSettings:
    if not section:
        return SlaSettings()
    if not isinstance(section, Mapping):
        raise SlaConfigError("[sla] must be a table")
    calendars = {"default": _calendar(section.get("hours") or {}, "sla.hours")}
    for team, spec in (section.get("teams") or {}).items():
        calendars[f"team:{team}"] = _calendar(spec, f"sla.teams.{team}")
    defaults = dict(DEFAULT_TARGETS)
    for priority, spec in (section.get("targets") or {}).items():
        base = defaults.get(priority, DEFAULT_TARGETS["normal"])
        defaults[priority] = replace(base, **_durations(spec, f"sla.targets.{priority}"))
    rules = tuple(_rule(spec, f"sla.rules[{i}]")
                  for i, spec in enumerate(section.get("rules") or []))
    warn_at = _number(section.get("warn_at", 0.8), "sla.warn_at")
    if not 0 < warn_at < 1:
        raise SlaConfigError("sla.warn_at must be between 0 and 1 (a share of the target)")
    handover = Handover(
        within=timedelta(minutes=_number(section.get("handover_minutes", 15),
                                         "sla.handover_minutes")),
        channels=frozenset(section.get("handover_channels", ["phone"])),
        escalate_to=str(section.get("handover_escalate_to", "team:coordinators")),
    )
    return SlaSettings(calendars=calendars, defaults=defaults, rules=rules, warn_at=warn_at,
                       handover=handover)


def _calendar(spec: Mapping[str, Any], key: str) -> BusinessCalendar:
    try:
        days = {k: v for k, v in spec.items() if k not in CALENDAR_KEYS}
        hours = parse_hours(days) if days else BusinessCalendar().hours
        return BusinessCalendar(
            zone=str(spec.get("zone", "Asia/Shanghai")), hours=hours,
            holidays=frozenset(_date(d) for d in spec.get("holidays", [])),
            workdays=frozenset(_date(d) for d in spec.get("workdays", [])),
        )
    except (ValueError, TypeError, ZoneInfoNotFoundError) as e:
        raise SlaConfigError(f"{key}: {e}") from None


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _durations(spec: Mapping[str, Any], key: str) -> dict[str, timedelta | None]:
    found: dict[str, timedelta | None] = {}
    for name in TARGETS:
        if name in spec:
            hours = _number(spec[name], f"{key}.{name}")
            found[name] = timedelta(hours=hours) if hours > 0 else None
    unknown = set(spec) - set(TARGETS) - {"type", "classification", "priority"}
    if unknown:
        raise SlaConfigError(f"{key}: unknown keys {', '.join(sorted(unknown))}")
    return found


def _rule(spec: Mapping[str, Any], key: str) -> Rule:
    return Rule(request_type=str(spec.get("type", ANY)),
                classification=str(spec.get("classification", ANY)),
                priority=str(spec.get("priority", ANY)), **_durations(spec, key))


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SlaConfigError(f"{key} must be a number, not {value!r}")
    return float(value)


__all__ = ["SlaConfigError", "Targets", "sla_settings"]
