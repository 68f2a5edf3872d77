"""Routing of new requests (issue 15, item 3): the customer's dedicated
representative first, otherwise the next available member of the team the
request's type maps to, in turn.

RoutingCursor is a team's turn, kept in the event store so that every process
(several `serve`s, the email poller, the fax watcher) takes the same next
member: two requests routed at once collide on the cursor's version and the
second is retried on the first's outcome.  RequestRouting is the record of one
request's routing, the event that says why it was assigned ("routing", and by
which rule); its id derives from the reference, so a request is routed once.
Nothing here is personal: references, team codes and staff accounts.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.ids import NAMESPACE
from domain.personal import PersonalData, fields

REASON = "routing"
RULES = ("representative", "round_robin", "unassigned")


def cursor_id(team: str) -> UUID:
    return uuid5(NAMESPACE, f"routing-cursor:{team}")


def routing_id(reference: str) -> UUID:
    return uuid5(NAMESPACE, f"request-routing:{reference}")


class RoutingCursor(Aggregate):
    personal_data = PersonalData(
        owner=lambda cursor: None,
        unowned_in_clear=True,
        events={
            "Started": fields(plain="team"),
            "Advanced": fields(plain="reference assignee"),
        },
    )

    @staticmethod
    def create_id(team: str, **_: object) -> UUID:
        return cursor_id(team)

    @event("Started")
    def __init__(self, team: str, actor: str) -> None:
        self.team = team
        self.last: str | None = None
        self.turns = 0

    def next_of(self, members: list[str], available: list[str]) -> str | None:
        """The first available member after the last one served, in the team's
        order (so a member who joins, leaves or is away does not reshuffle the rest)."""
        if not available:
            return None
        start = members.index(self.last) + 1 if self.last in members else 0
        for offset in range(len(members)):
            candidate = members[(start + offset) % len(members)]
            if candidate in available:
                return candidate
        return available[0]

    @event("Advanced")
    def advance(self, reference: str, assignee: str, actor: str) -> None:
        self.last = assignee
        self.turns += 1


class RequestRouting(Aggregate):
    personal_data = PersonalData(
        owner=lambda routing: None,
        unowned_in_clear=True,
        events={"Routed": fields(plain="reference assignee team rule reason")},
    )

    @staticmethod
    def create_id(reference: str, **_: object) -> UUID:
        return routing_id(reference)

    @event("Routed")
    def __init__(self, reference: str, assignee: str | None, team: str | None, rule: str,
                 reason: str, actor: str) -> None:
        self.reference = reference
        self.assignee = assignee
        self.team = team
        self.rule = rule
