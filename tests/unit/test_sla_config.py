"""The [sla] table of ledgerdesk.toml (ledgerdesk.sla_config)."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

import pytest

from ledgerdesk.config import ConfigError, load_settings

H = timedelta(hours=1)

EXAMPLE = """
mail_from = "help@desk.cn"

[sla]
warn_at = 0.75
handover_minutes = 10

[sla.hours]
zone = "Asia/Shanghai"
mon-fri = ["09:00-12:00", "13:00-18:00"]
holidays = ["2027-01-01", 2027-02-17]

[sla.teams.hotline]
zone = "Asia/Shanghai"
mon-sun = "08:00-20:00"

[sla.targets.normal]
first_response = 6
resolution = 30

[[sla.rules]]
type = "complaint"
classification = "vip"
first_response = 0.5
"""


def settings(tmp_path: Path, text: str) -> object:
    path = tmp_path / "ledgerdesk.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings({"LEDGERDESK_DATABASE_URL": f"sqlite:///{tmp_path}/e.db"}, path)


def test_defaults_when_absent(tmp_path: Path) -> None:
    sla = settings(tmp_path, "").sla  # type: ignore[attr-defined]
    calendar = sla.calendar()
    assert calendar.zone == "Asia/Shanghai"
    assert calendar.hours[4] == ((time(9), time(18)),) and 5 not in calendar.hours
    assert [sla.targets("support", "standard", p).first_response
            for p in ("urgent", "high", "normal", "low")] == [H, 4 * H, 8 * H, 24 * H]
    assert sla.warn_at == 0.8 and sla.handover.within == timedelta(minutes=15)


def test_the_example(tmp_path: Path) -> None:
    loaded = settings(tmp_path, EXAMPLE)
    sla = loaded.sla  # type: ignore[attr-defined]
    assert loaded.mail_from == "help@desk.cn"  # type: ignore[attr-defined]
    assert sla.warn_at == 0.75 and sla.handover.within == timedelta(minutes=10)
    assert sla.calendar().holidays == {date(2027, 1, 1), date(2027, 2, 17)}
    assert len(sla.calendar().hours[0]) == 2
    assert sla.calendar("hotline").hours[6] == ((time(8), time(20)),)
    assert sla.calendar("nobody") is sla.calendar()
    normal = sla.targets("support", "standard", "normal")
    assert (normal.first_response, normal.next_response, normal.resolution) == (6 * H, 8 * H,
                                                                                30 * H)
    assert sla.targets("complaint", "vip", "normal").first_response == H / 2


@pytest.mark.parametrize("text", [
    "[sla]\nwarn_at = 2",
    "[sla.hours]\nzone = 'Mars/Olympus'",
    "[sla.hours]\nmon = '18:00-09:00'",
    "[sla.targets.high]\nfirst_response = 'soon'",
    "[[sla.rules]]\npriority = 'high'\nfirst = 1",
])
def test_mistakes_name_the_key(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="sla"):
        settings(tmp_path, text)
