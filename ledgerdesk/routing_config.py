"""The `[routing]` table of ledgerdesk.toml, read into domain.routing.settings.

    [routing]
    enabled = true               # the default once the table is there; false switches it off
    representative_first = true  # the customer's dedicated representative takes it first
    [routing.teams]              # request type -> team; "*" for every other type
    support = "hotline"
    complaint = "complaints"

No table, no routing: new requests wait in the unassigned queue as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.aggregates.team import CODE_SHAPE, normalise_code
from domain.routing.settings import RoutingSettings
from domain.vocabulary import REQUEST_TYPES


class RoutingConfigError(ValueError):
    """Raised with the key at fault; ledgerdesk.config turns it into a ConfigError."""


def routing_settings(section: Mapping[str, Any] | None) -> RoutingSettings:
    if section is None:
        return RoutingSettings()
    if not isinstance(section, Mapping):
        raise RoutingConfigError("[routing] must be a table")
    unknown = set(section) - {"enabled", "representative_first", "teams"}
    if unknown:
        raise RoutingConfigError(f"routing: unknown keys {', '.join(sorted(unknown))}")
    teams: dict[str, str] = {}
    for request_type, team in (section.get("teams") or {}).items():
        if request_type != "*" and request_type not in REQUEST_TYPES:
            raise RoutingConfigError(f"routing.teams.{request_type}: not a request type "
                                     f"({', '.join(REQUEST_TYPES)} or \"*\")")
        if not isinstance(team, str) or not CODE_SHAPE.match(normalise_code(team)):
            raise RoutingConfigError(f"routing.teams.{request_type} must be a team code")
        teams[request_type] = normalise_code(team)
    return RoutingSettings(enabled=_flag(section, "enabled"), teams=teams,
                           representative_first=_flag(section, "representative_first"))


def _flag(section: Mapping[str, Any], key: str) -> bool:
    value = section.get(key, True)
    if not isinstance(value, bool):
        raise RoutingConfigError(f"routing.{key} must be true or false, not {value!r}")
    return value
