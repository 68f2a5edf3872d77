"""What routing does, from the `[routing]` table of ledgerdesk.toml
(ledgerdesk.routing_config): plain data handed to the store by the composition
root, as the SLA settings are handed to the views."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RoutingSettings:
    # Off unless configured: without it, new requests wait in `unassigned`.
    enabled: bool = False
    # Request type -> team code whose members take it in turn ("*": any other type).
    teams: Mapping[str, str] = field(default_factory=dict)
    # The dedicated representative (一对一服务) takes their customer's requests first.
    representative_first: bool = True

    def team_for(self, request_type: str) -> str | None:
        return self.teams.get(request_type) or self.teams.get("*")
