"""Business time: adding and measuring working hours (domain.business_time, domain.sla.policy)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.business_time import BusinessCalendar, parse_hours
from domain.sla.policy import Rule, SlaSettings

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


CAL = BusinessCalendar()  # Mon–Fri 09:00–18:00 Asia/Shanghai


def test_friday_evening_is_due_monday_afternoon_for_eight_hours() -> None:
    # 2026-12-04 is a Friday: half an hour on Friday, 7.5 hours on Monday.
    assert CAL.add(sh(2026, 12, 4, 17, 30), 8 * H) == sh(2026, 12, 7, 16, 30)
    assert CAL.add(sh(2026, 12, 4, 17, 30), 1 * H) == sh(2026, 12, 7, 9, 30)


def test_inside_one_day_and_exactly_at_the_close() -> None:
    assert CAL.add(sh(2026, 12, 2, 10), 4 * H) == sh(2026, 12, 2, 14)
    assert CAL.add(sh(2026, 12, 2, 10), 8 * H) == sh(2026, 12, 2, 18)
    assert CAL.add(sh(2026, 12, 2, 10), 9 * H) == sh(2026, 12, 3, 10)


def test_outside_hours_the_clock_starts_at_the_next_opening() -> None:
    assert CAL.add(sh(2026, 12, 5, 11), 1 * H) == sh(2026, 12, 7, 10)  # Saturday
    assert CAL.add(sh(2026, 12, 2, 7), 1 * H) == sh(2026, 12, 2, 10)  # before opening
    assert CAL.add(sh(2026, 12, 2, 20), 0 * H) == sh(2026, 12, 3, 9)


def test_a_holiday_is_skipped() -> None:
    cal = BusinessCalendar(holidays=frozenset({date(2026, 12, 7)}))
    assert cal.add(sh(2026, 12, 4, 17, 30), 8 * H) == sh(2026, 12, 8, 16, 30)
    assert cal.between(sh(2026, 12, 4, 9), sh(2026, 12, 8, 9)) == 9 * H


def test_a_make_up_workday_on_a_saturday_counts() -> None:
    cal = BusinessCalendar(workdays=frozenset({date(2026, 12, 5)}))
    assert cal.add(sh(2026, 12, 4, 17, 30), 8 * H) == sh(2026, 12, 5, 16, 30)


def test_twenty_four_hours_span_several_days() -> None:
    assert CAL.add(sh(2026, 12, 3, 9), 24 * H) == sh(2026, 12, 7, 15)  # Thu, Fri, Mon 6 h


def test_between_counts_only_working_time() -> None:
    assert CAL.between(sh(2026, 12, 4, 17, 30), sh(2026, 12, 7, 16, 30)) == 8 * H
    assert CAL.between(sh(2026, 12, 5, 0), sh(2026, 12, 6, 23)) == timedelta(0)
    assert CAL.between(sh(2026, 12, 7, 16, 30), sh(2026, 12, 4, 17, 30)) == -8 * H
    start = sh(2026, 12, 1, 8, 17)
    for hours in (0.5, 3, 9, 17, 40):
        assert CAL.between(start, CAL.add(start, hours * H)) == hours * H


def test_moments_in_utc_or_another_zone_are_the_same_moments() -> None:
    utc = sh(2026, 12, 4, 17, 30).astimezone(UTC)
    assert CAL.add(utc, 8 * H) == sh(2026, 12, 7, 16, 30)
    with pytest.raises(ValueError):
        CAL.add(datetime(2026, 12, 4, 17, 30), H)


def test_a_zone_with_daylight_saving_keeps_its_wall_clock_hours() -> None:
    # Berlin leaves summer time on Sunday 2026-10-25: Friday 17:00 CEST + 2 h
    # is Monday 10:00 CET, and the weekend's 25-hour Sunday counts for nothing.
    berlin = ZoneInfo("Europe/Berlin")
    cal = BusinessCalendar(zone="Europe/Berlin")
    due = cal.add(datetime(2026, 10, 23, 17, tzinfo=berlin), 2 * H)
    assert due == datetime(2026, 10, 26, 10, tzinfo=berlin)
    assert due.astimezone(UTC) == datetime(2026, 10, 26, 9, tzinfo=UTC)


def test_split_days_and_configured_hours() -> None:
    hours = parse_hours({"mon-fri": ["09:00-12:00", "13:00-18:00"], "sat": "09:00-12:00"})
    assert hours[0] == ((time(9), time(12)), (time(13), time(18)))
    assert 6 not in hours
    cal = BusinessCalendar(hours=hours)
    assert cal.add(sh(2026, 12, 2, 11), 2 * H) == sh(2026, 12, 2, 14)  # lunch skipped
    assert cal.add(sh(2026, 12, 4, 17), 2 * H) == sh(2026, 12, 5, 10)  # Saturday morning
    with pytest.raises(ValueError):
        BusinessCalendar(hours=parse_hours({"mon": "18:00-09:00"}))
    with pytest.raises(ValueError):
        parse_hours({"funday": "09:00-10:00"})
    with pytest.raises(ValueError):
        BusinessCalendar(hours={})


def test_targets_by_type_classification_and_priority() -> None:
    settings = SlaSettings(rules=(
        Rule(priority="high", first_response=2 * H),
        Rule(request_type="complaint", classification="vip", priority="high",
             first_response=H / 2),
        Rule(classification="vip", resolution=16 * H),
    ))
    assert settings.targets("support", "standard", "urgent").first_response == H
    assert settings.targets("support", "standard", "high").first_response == 2 * H
    vip = settings.targets("complaint", "vip", "high")
    assert vip.first_response == H / 2
    assert vip.resolution == 16 * H
    assert settings.targets("support", "standard", "low").first_response == 24 * H
    warning, due = settings.deadline(sh(2026, 12, 4, 17, 30), 8 * H)
    assert due == sh(2026, 12, 7, 16, 30)
    assert warning == CAL.add(sh(2026, 12, 4, 17, 30), 6.4 * H)
