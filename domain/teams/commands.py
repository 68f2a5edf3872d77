"""Commands of the teams context (admins only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CreateTeam:
    code: str
    name: str
    actor: str


@dataclass(frozen=True)
class AddTeamMember:
    code: str
    email: str
    actor: str


@dataclass(frozen=True)
class RemoveTeamMember:
    code: str
    email: str
    actor: str
