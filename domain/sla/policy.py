"""What is promised: SLA targets per request type × customer classification × priority.

The settings are plain data built by the composition root from `ledgerdesk.toml`
(ledgerdesk.sla_config) and handed to the inbox view and the timer policy, so
the domain stays free of files.  A rule names a type, a classification and a
priority, each of which may be `*`; the most specific matching rule wins, and
what no rule sets comes from the priority's defaults.  Business hours come from
a calendar; `calendars` is keyed so a team's own hours ("team:hotline") can be
looked up beside the `default` one once requests carry a team.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from domain.business_time import BusinessCalendar

ANY = "*"
TARGETS = ("first_response", "next_response", "resolution")


@dataclass(frozen=True)
class Targets:
    """Business-time targets; None = no promise of that kind."""

    first_response: timedelta | None
    next_response: timedelta | None
    resolution: timedelta | None

    def get(self, target: str) -> timedelta | None:
        value: timedelta | None = getattr(self, target)
        return value


def _hours(first: float, resolution: float) -> Targets:
    return Targets(timedelta(hours=first), timedelta(hours=first), timedelta(hours=resolution))


DEFAULT_TARGETS: Mapping[str, Targets] = {
    "urgent": _hours(1, 8),
    "high": _hours(4, 24),
    "normal": _hours(8, 40),
    "low": _hours(24, 80),
}


@dataclass(frozen=True)
class Rule:
    request_type: str = ANY
    classification: str = ANY
    priority: str = ANY
    first_response: timedelta | None = None
    next_response: timedelta | None = None
    resolution: timedelta | None = None

    def matches(self, request_type: str, classification: str, priority: str) -> bool:
        return all(mine in (ANY, theirs) for mine, theirs in (
            (self.request_type, request_type), (self.classification, classification),
            (self.priority, priority)))

    @property
    def specificity(self) -> int:
        return sum(value != ANY for value in (self.request_type, self.classification,
                                              self.priority))


@dataclass(frozen=True)
class Handover:
    """Seed 001: a request a hotline operator opened (by phone) must be taken
    within `within`; else it escalates, to `escalate_to` once teams exist."""

    within: timedelta = timedelta(minutes=15)
    channels: frozenset[str] = frozenset({"phone"})
    escalate_to: str = "team:coordinators"


@dataclass(frozen=True)
class SlaSettings:
    calendars: Mapping[str, BusinessCalendar] = field(
        default_factory=lambda: {"default": BusinessCalendar()})
    defaults: Mapping[str, Targets] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    rules: tuple[Rule, ...] = ()
    # A warning when this share of a target's business time has passed.
    warn_at: float = 0.8
    handover: Handover = field(default_factory=Handover)

    def calendar(self, team: str | None = None) -> BusinessCalendar:
        if team and f"team:{team}" in self.calendars:
            return self.calendars[f"team:{team}"]
        return self.calendars["default"]

    def targets(self, request_type: str, classification: str, priority: str) -> Targets:
        base = (self.defaults.get(priority) or self.defaults.get("normal")
                or DEFAULT_TARGETS["normal"])
        matching = sorted((r for r in self.rules
                           if r.matches(request_type, classification, priority)),
                          key=lambda r: r.specificity)
        for rule in matching:  # least specific first, so the most specific is applied last
            base = replace(base, **{name: getattr(rule, name) for name in TARGETS
                                    if getattr(rule, name) is not None})
        return base

    def deadline(self, start: datetime, target: timedelta, team: str | None = None
                 ) -> tuple[datetime, datetime]:
        """(warning, due) for a target that starts at `start`, in business time."""
        calendar = self.calendar(team)
        return calendar.add(start, target * self.warn_at), calendar.add(start, target)
