"""The [complaints] table of ledgerdesk.toml (ledgerdesk.complaint_config)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.complaints.policy import ComplaintSettings
from ledgerdesk.config import ConfigError, load_settings

H = timedelta(hours=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")

EXAMPLE = """
[sla.hours]
mon-fri = "09:00-18:00"
holidays = ["2026-12-07"]

[sla.teams.quality]
mon-sat = "08:00-20:00"

[complaints]
review_levels = ["major", "critical"]

[complaints.departments]
staff = "hotline"

[complaints.hours.quality]
minor = 20

[complaints.hours.safety]
minor = 4
major = 2
critical = 1
"""


def settings_from(tmp_path: Path, text: str) -> ComplaintSettings:
    path = tmp_path / "ledgerdesk.toml"
    path.write_text(text, encoding="utf-8")
    environ = {"LEDGERDESK_SECRET_KEY": "k", "LEDGERDESK_DATA_DIR": str(tmp_path),
               "LEDGERDESK_MASTER_KEY": os.environ["LEDGERDESK_MASTER_KEY"]}
    return load_settings(environ, path).complaints


def test_defaults_without_a_table(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, "")
    assert settings.categories == ("quality", "delay", "attitude", "billing", "other")
    assert settings.hours["delay"]["major"] == 8 * H
    assert settings.department("product") == "quality"
    assert settings.review_levels == frozenset({"critical"})
    friday = datetime(2026, 12, 4, 17, 30, tzinfo=SHANGHAI)
    assert settings.suggested_due(friday, "delay", "major") == \
        datetime(2026, 12, 7, 16, 30, tzinfo=SHANGHAI)


def test_the_table_overrides_and_adds(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, EXAMPLE)
    assert settings.hours["quality"] == {"minor": 20 * H, "major": 16 * H, "critical": 8 * H}
    assert settings.hours["safety"]["critical"] == 1 * H
    assert settings.department("staff") == "hotline"
    assert settings.review_levels == frozenset({"major", "critical"})
    friday = datetime(2026, 12, 4, 17, 30, tzinfo=SHANGHAI)
    # 24 h: half an hour on Friday, the Monday holiday skipped, then Tue, Wed and 5.5 h of
    # Thursday.  The quality team works till 20:00, so 2 h end the same Friday.
    assert settings.suggested_due(friday, "delay", "minor") == \
        datetime(2026, 12, 10, 14, 30, tzinfo=SHANGHAI)
    assert settings.suggested_due(friday, "safety", "major", "quality") == \
        datetime(2026, 12, 4, 19, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize("text,named", [
    ("[complaints]\ncolour = 1", "colour"),
    ("[complaints.hours.quality]\nhuge = 3", "huge"),
    ("[complaints.hours.quality]\nminor = -1", "complaints.hours.quality.minor"),
    ("[complaints.hours.quality]\nminor = true", "complaints.hours.quality.minor"),
    ("[complaints.hours.new]\nminor = 3", "no hours for major, critical"),
    ("[complaints.departments]\nboss = 'x'", "complaints.departments.boss"),
    ("[complaints]\nreview_levels = ['all']", "review_levels"),
])
def test_a_mistake_is_named_at_start_up(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        settings_from(tmp_path, text)
