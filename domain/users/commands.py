"""Commands of the users context.  A password travels in a command only on its
way to being hashed; no event ever holds it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AddUser:
    email: str
    roles: Sequence[str]
    actor: str
    name: str = ""
    customer_code: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class GrantRole:
    email: str
    role: str
    actor: str


@dataclass(frozen=True)
class RevokeRole:
    email: str
    role: str
    actor: str


@dataclass(frozen=True)
class SetPassword:
    email: str
    password: str = field(repr=False)
    actor: str


@dataclass(frozen=True)
class IssueToken:
    """Returns the new token; only its hash is stored, so it cannot be shown again."""

    email: str
    actor: str
    label: str = ""


@dataclass(frozen=True)
class RevokeToken:
    email: str
    token_id: str
    actor: str


@dataclass(frozen=True)
class DeactivateUser:
    email: str
    actor: str


@dataclass(frozen=True)
class SetUserPreferences:
    """The language and time zone the web pages are shown in for this user."""

    email: str
    language: str | None
    timezone: str | None
    actor: str


@dataclass(frozen=True)
class InviteUser:
    """A customer's contact gets a portal account without a password, and a
    one-time link to set one.  Returns the link's nonce (the only time it is
    seen: the log keeps its sha256); the web channel signs it into the link."""

    email: str
    role: str
    customer_code: str
    actor: str
    name: str = ""


@dataclass(frozen=True)
class IssuePasswordLink:
    """A new one-time link for `purpose` ("invite" or "reset"); it replaces the
    user's previous one of that purpose.  Returns the nonce, like InviteUser."""

    email: str
    purpose: str
    actor: str


@dataclass(frozen=True)
class SetPasswordWithLink:
    """Set the password through a one-time link: refused (InvalidPasswordLink)
    unless `nonce` is that of the user's latest link of `purpose` and unused."""

    email: str
    purpose: str
    nonce: str = field(repr=False)
    password: str = field(repr=False)
    actor: str = ""
