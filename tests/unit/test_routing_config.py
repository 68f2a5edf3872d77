"""The [routing] table of ledgerdesk.toml (ledgerdesk.routing_config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.aggregates.routing import RoutingCursor
from ledgerdesk.config import ConfigError, load_settings
from ledgerdesk.routing_config import RoutingConfigError, routing_settings


def test_no_table_no_routing() -> None:
    assert not routing_settings(None).enabled


def test_a_table_switches_it_on_and_maps_types_to_teams(tmp_path: Path) -> None:
    path = tmp_path / "ledgerdesk.toml"
    path.write_text('[routing]\n[routing.teams]\nsupport = "Hotline"\n"*" = "coordinators"\n',
                    encoding="utf-8")
    settings = load_settings({}, path).routing
    assert settings.enabled and settings.representative_first
    assert settings.team_for("support") == "hotline"
    assert settings.team_for("repair") == "coordinators"
    path.write_text("[routing]\nenabled = false\n", encoding="utf-8")
    assert not load_settings({}, path).routing.enabled


@pytest.mark.parametrize("section, key", [
    ({"enabled": "yes"}, "routing.enabled"),
    ({"teams": {"gossip": "hotline"}}, "routing.teams.gossip"),
    ({"teams": {"support": "Hot Line!"}}, "routing.teams.support"),
    ({"colour": 1}, "colour"),
])
def test_mistakes_name_the_key(section: dict[str, object], key: str) -> None:
    with pytest.raises(RoutingConfigError, match=key):
        routing_settings(section)


def test_a_mistake_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "ledgerdesk.toml"
    path.write_text("[routing]\nenabled = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"routing\.enabled"):
        load_settings({}, path)


def test_the_turn_skips_who_is_not_available() -> None:
    cursor = RoutingCursor(team="hotline", actor="t")
    members = ["a", "b", "c"]
    assert cursor.next_of(members, ["a", "b", "c"]) == "a"
    cursor.advance(reference="SR-000001", assignee="a", actor="t")
    assert cursor.next_of(members, ["a", "c"]) == "c"
    cursor.advance(reference="SR-000002", assignee="c", actor="t")
    assert cursor.next_of(members, ["a", "b", "c"]) == "a"
    assert cursor.next_of(["b"], ["b"]) == "b"  # the last one left the team
    assert cursor.next_of(members, []) is None
