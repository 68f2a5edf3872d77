"""The `[complaints]` section of `ledgerdesk.toml`, read into
domain.complaints.policy.ComplaintSettings.

    [complaints]
    review_levels = ["critical"]          # a manager approves these results first
    [complaints.departments]              # target -> team code
    product = "quality"
    service = "hotline"
    staff = "complaints"
    [complaints.hours.quality]            # category -> level -> hours of business time
    minor = 40
    major = 16
    critical = 8

Absent keys take the defaults of domain.complaints.policy; a new category needs
all three levels.  Business hours are the `[sla]` calendar's, or a
department's own (`[sla.teams.<code>]`).  A mistake is named by its key at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from domain.complaints.policy import (
    DEFAULT_DEPARTMENTS,
    DEFAULT_HOURS,
    LEVELS,
    TARGETS,
    ComplaintSettings,
)
from domain.sla.policy import SlaSettings


class ComplaintConfigError(ValueError):
    """Raised with the key at fault; ledgerdesk.config turns it into a ConfigError."""


def complaint_settings(section: Mapping[str, Any] | None, sla: SlaSettings) -> ComplaintSettings:
    section = section or {}
    if not isinstance(section, Mapping):
        raise ComplaintConfigError("[complaints] must be a table")
    unknown = set(section) - {"hours", "departments", "review_levels"}
    if unknown:
        raise ComplaintConfigError(f"complaints: unknown keys {', '.join(sorted(unknown))}")
    hours: dict[str, dict[str, timedelta]] = {k: dict(v) for k, v in DEFAULT_HOURS.items()}
    for category, spec in (section.get("hours") or {}).items():
        key = f"complaints.hours.{category}"
        if not isinstance(spec, Mapping):
            raise ComplaintConfigError(f"{key} must be a table of levels")
        bad = set(spec) - set(LEVELS)
        if bad:
            raise ComplaintConfigError(f"{key}: unknown levels {', '.join(sorted(bad))} "
                                       f"(levels: {', '.join(LEVELS)})")
        row = dict(hours.get(category, {}))
        for level, value in spec.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ComplaintConfigError(f"{key}.{level} must be a positive number of hours")
            row[level] = timedelta(hours=value)
        missing = [level for level in LEVELS if level not in row]
        if missing:
            raise ComplaintConfigError(f"{key}: no hours for {', '.join(missing)}")
        hours[str(category)] = row
    departments = dict(DEFAULT_DEPARTMENTS)
    for target, team in (section.get("departments") or {}).items():
        if target not in TARGETS:
            raise ComplaintConfigError(f"complaints.departments.{target}: targets are "
                                       f"{', '.join(TARGETS)}")
        departments[target] = str(team).strip().lower()
    levels = section.get("review_levels", ["critical"])
    if not isinstance(levels, list) or any(level not in LEVELS for level in levels):
        raise ComplaintConfigError(f"complaints.review_levels must list levels among "
                                   f"{', '.join(LEVELS)}")
    team_calendars = {key.removeprefix("team:"): calendar
                      for key, calendar in sla.calendars.items() if key.startswith("team:")}
    return ComplaintSettings(hours=hours, departments=departments,
                             review_levels=frozenset(levels), calendar=sla.calendar(),
                             team_calendars=team_calendars)
