"""Handlers of the teams context, and the list of teams (read from the log like
domain.users.handlers.all_users: teams are few)."""

from __future__ import annotations

from domain import ids
from domain.aggregates.team import CODE_SHAPE, Team, team_id
from domain.commands import Handlers
from domain.errors import InvalidTransition, NotFound, invalid
from domain.store import Pending, Store
from domain.teams.commands import AddTeamMember, CreateTeam, RemoveTeamMember
from domain.users.handlers import load_user
from domain.vocabulary import STAFF_ROLES

handlers = Handlers()



def load_team(store: Store, code: str) -> Team:
    team = store.get(Team, team_id(code))
    if team is None:
        raise NotFound(f"no team {code!r}")
    return team


def all_teams(store: Store) -> list[Team]:
    """Every team, in the order they were created, each read from its aggregate."""
    return store.created(Team)


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
