"""Business time: adding working hours to a moment, and measuring them between two.

SLA targets are promises in working time ("8 business hours"), so a request
opened on Friday at 17:30 under Mon–Fri 09:00–18:00 has half an hour on Friday
and is due Monday at 16:30.  Everything here is pure: moments are aware
datetimes (stored in UTC), the calendar's hours are wall-clock times in its own
zone, so a zone with daylight saving keeps its 09:00 opening on both sides of a
change, and the length of a window is measured in real elapsed time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Window = tuple[time, time]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A calendar with no working time at all would make every search run forever;
# ten years without one working minute is a configuration error.
HORIZON_DAYS = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    """Working windows per weekday (0 = Monday) in `zone`, minus `holidays`
    (local dates).  `workdays`: dates worked although their weekday is not
    (the make-up Saturdays of Chinese public holidays), with the hours of a
    normal Monday."""

    zone: str = "Asia/Shanghai"
    hours: Mapping[int, tuple[Window, ...]] = field(default_factory=lambda: {
        day: ((time(9), time(18)),) for day in range(5)})
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        ZoneInfo(self.zone)  # ZoneInfoNotFoundError names a zone that does not exist
        for day, windows in self.hours.items():
            if day not in range(7):
                raise ValueError(f"weekday {day} is not 0 (Monday) to 6 (Sunday)")
            for start, end in windows:
                if not start < end:
                    raise ValueError(f"business hours {start}-{end}: the end must follow the start")
        if not any(self.hours.values()):
            raise ValueError("business hours: no working time on any day")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def windows_on(self, day: date) -> tuple[Window, ...]:
        if day in self.holidays:
            return ()
        if day in self.workdays and not self.hours.get(day.weekday()):
            return self.hours.get(0) or next(w for w in self.hours.values() if w)
        return self.hours.get(day.weekday(), ())

    def intervals_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals (UTC) in order, starting with the one `moment` is in
        or the next one after it, clipped so none starts before `moment`."""
        moment = _aware(moment)
        tz = self.tz
        day = moment.astimezone(tz).date()
        for _ in range(HORIZON_DAYS):
            for start, end in self.windows_on(day):
                opens = datetime.combine(day, start, tz).astimezone(UTC)
                closes = datetime.combine(day, end, tz).astimezone(UTC)
                if closes > moment:
                    yield max(opens, moment), closes
            day += timedelta(days=1)
        raise ValueError(f"no business time within {HORIZON_DAYS} days of {moment}")

    def add(self, moment: datetime, duration: timedelta) -> datetime:
        """The moment when `duration` of business time has passed since `moment`.
        A zero duration outside working hours is the next opening, since nobody
        is there to answer before."""
        if duration < timedelta(0):
            raise ValueError("a business-time duration cannot be negative")
        left = duration
        for start, end in self.intervals_from(moment):
            if end - start >= left:
                return start + left
            left -= end - start
        raise AssertionError("unreachable: intervals_from ends by raising")

    def between(self, earlier: datetime, later: datetime) -> timedelta:
        """Business time from `earlier` to `later` (negative when reversed)."""
        earlier, later = _aware(earlier), _aware(later)
        if later < earlier:
            return -self.between(later, earlier)
        total = timedelta(0)
        for start, end in self.intervals_from(earlier):
            if start >= later:
                break
            total += min(end, later) - start
        return total


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment} has no time zone; business time needs aware moments")
    return moment.astimezone(UTC)


def parse_hours(spec: Mapping[str, str | list[str]]) -> dict[int, tuple[Window, ...]]:
    """`{"mon": "09:00-18:00", "sat": ["09:00-12:00", "13:00-17:00"], "sun": ""}`,
    or the shortcut key `"mon-fri"`, as the configuration writes them."""
    hours: dict[int, tuple[Window, ...]] = {}
    for key, value in spec.items():
        days = _days(key)
        texts = [value] if isinstance(value, str) else list(value)
        windows = tuple(_window(text) for text in texts if text.strip())
        for day in days:
            hours[day] = windows
    return hours


def _days(key: str) -> list[int]:
    name = key.strip().lower()
    if "-" in name:
        first, _, last = name.partition("-")
        a, b = _day(first), _day(last)
        if b < a:
            raise ValueError(f"business hours {key!r}: the range runs backwards")
        return list(range(a, b + 1))
    return [_day(name)]


def _day(name: str) -> int:
    try:
        return WEEKDAYS.index(name[:3])
    except ValueError:
        raise ValueError(f"{name!r} is not a weekday (mon … sun)") from None


def _window(text: str) -> Window:
    try:
        start, _, end = text.partition("-")
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(f"business hours {text!r}: expected HH:MM-HH:MM") from None
