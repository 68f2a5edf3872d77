"""The Team aggregate: a function of the organisation (hotline, coordinators,
field service, technical centre, quality, complaints, a department) and its
members.  Requests are transferred to a team (`team:CODE`); members are staff
accounts, whose emails stay in clear like every staff actor."""

from __future__ import annotations

import re
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition, NotFound
from domain.ids import NAMESPACE
from domain.personal import PersonalData, fields

TEAM_PREFIX = "team:"
# What a team code looks like once normalised (lower case).
CODE_SHAPE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def team_id(code: str) -> UUID:
    return uuid5(NAMESPACE, f"team:{normalise_code(code)}")


def normalise_code(code: str) -> str:
    return code.strip().lower()


class Team(Aggregate):
    personal_data = PersonalData(
        owner=lambda team: None,
        unowned_in_clear=True,
        events={
            "Created": fields(plain="code name"),
            "MemberAdded": fields(plain="email"),
            "MemberRemoved": fields(plain="email"),
        },
    )

    @staticmethod
    def create_id(code: str, **_: object) -> UUID:
        return team_id(code)

    @event("Created")
    def __init__(self, code: str, name: str, actor: str) -> None:
        self.code = code
        self.name = name
        self.members: list[str] = []

    def add_member(self, email: str, actor: str) -> None:
        if email in self.members:
            raise InvalidTransition(f"{email} is already a member of team {self.code}")
        self._member_added(email=email, actor=actor)

    @event("MemberAdded")
    def _member_added(self, email: str, actor: str) -> None:
        self.members.append(email)

    def remove_member(self, email: str, actor: str) -> None:
        if email not in self.members:
            raise NotFound(f"{email} is not a member of team {self.code}")
        self._member_removed(email=email, actor=actor)

    @event("MemberRemoved")
    def _member_removed(self, email: str, actor: str) -> None:
        self.members.remove(email)
