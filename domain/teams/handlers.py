"""Handlers of the teams context, and the list of teams (read from the log like
domain.users.handlers.all_users: teams are few)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.utils import get_topic

from domain import ids
from domain.aggregates.team import CODE_SHAPE, Team, team_id
from domain.commands import Handlers
from domain.errors import InvalidTransition, NotFound, invalid
from domain.store import Pending, Store
from domain.teams.commands import AddTeamMember, CreateTeam, RemoveTeamMember
from domain.users.handlers import load_user
from domain.vocabulary import STAFF_ROLES

handlers = Handlers()

TEAM_SCAN_PAGE = 1000


def load_team(store: Store, code: str) -> Team:
    team = store.get(Team, team_id(code))
    if team is None:
        raise NotFound(f"no team {code!r}")
    return team


def all_teams(store: Store) -> list[Team]:
    """Every team, in the order they were created, each read from its aggregate."""
    recorder = store.app.recorder
    created = [get_topic(Team.Created)]
    teams: list[Team] = []
    position = 0
    while True:
        page = recorder.select_notifications(position, TEAM_SCAN_PAGE, topics=created,
                                             inclusive_of_start=False)
        for notification in page:
            team = store.get(Team, UUID(str(notification.originator_id)))
            if team is not None:
                teams.append(team)
        if len(page) < TEAM_SCAN_PAGE:
            return teams
        position = page[-1].id


@handlers(CreateTeam)
def create_team(store: Store, c: CreateTeam) -> str:
    code = c.code.strip()
    if not CODE_SHAPE.match(code):
        raise invalid("code", "a team code is 1–32 lower-case letters, digits, '-' or '_'")
    if not c.name.strip():
        raise invalid("name", "a team needs a name")
    team = Team(code=code, name=c.name.strip(), actor=c.actor)
    store.create(Pending([team]), f"a team {code!r} already exists")
    return code


@handlers(AddTeamMember)
def add_team_member(store: Store, c: AddTeamMember) -> None:
    user = load_user(store, c.email)
    if not any(role in STAFF_ROLES for role in user.roles):
        raise InvalidTransition(f"{user.email} is not a member of staff")
    store.change(lambda: load_team(store, c.code), lambda t: t.add_member(user.email, c.actor))


@handlers(RemoveTeamMember)
def remove_team_member(store: Store, c: RemoveTeamMember) -> None:
    email = ids.normalise_email(c.email)
    store.change(lambda: load_team(store, c.code), lambda t: t.remove_member(email, c.actor))
