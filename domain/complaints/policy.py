"""What a complaint is promised: a suggested completion time per category × level,
in business time, and the department (a team) each target is routed to.

Plain data built by the composition root from `[complaints]` in ledgerdesk.toml
(ledgerdesk.complaint_config) and handed to the store, so the domain reads no
files.  Seed 003: "系统根据信息的类型和相关的业务级别数据,生成投诉处理的建议完成时间等,
并转交相关部门负责人"; seed 001: product complaints go to the product side, service
complaints to the hotline, complaints about staff to their supervisors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.business_time import BusinessCalendar

TARGETS = ("product", "service", "staff")
LEVELS = ("minor", "major", "critical")


def _table(minor: float, major: float, critical: float) -> dict[str, timedelta]:
    return {"minor": timedelta(hours=minor), "major": timedelta(hours=major),
            "critical": timedelta(hours=critical)}


# Hours of business time, category -> level -> duration.
DEFAULT_HOURS: Mapping[str, Mapping[str, timedelta]] = {
    "quality": _table(40, 16, 8),   # 产品质量
    "delay": _table(24, 8, 4),      # 服务延误
    "attitude": _table(24, 8, 4),   # 服务态度
    "billing": _table(40, 16, 8),   # 收费
    "other": _table(40, 24, 8),
}
DEFAULT_DEPARTMENTS: Mapping[str, str] = {
    "product": "quality", "service": "hotline", "staff": "complaints"}


@dataclass(frozen=True)
class ComplaintSettings:
    hours: Mapping[str, Mapping[str, timedelta]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_HOURS.items()})
    departments: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_DEPARTMENTS))
    # Levels whose result a manager approves before it goes out (领导批阅).
    review_levels: frozenset[str] = frozenset({"critical"})
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    # A department's own business hours, when [sla.teams.<code>] gives them.
    team_calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.hours)

    def suggested_due(self, start: datetime, category: str, level: str,
                      department: str | None = None) -> datetime:
        calendar = self.team_calendars.get(department or "", self.calendar)
        return calendar.add(start, self.hours[category][level])

    def department(self, target: str) -> str:
        return self.departments[target]
