"""The User aggregate: staff, customer users and auditors, and their credentials.

Only hashes are stored: an argon2 hash of the password, a sha256 of each API
token (tokens are 256-bit random, so a fast hash is enough to make a leaked
event log useless for logging in).
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.errors import InvalidTransition, NotFound
from domain.personal import PersonalData, fields


class User(Aggregate):
    # Whose data this is, and which fields are theirs (domain.personal).  Staff
    # accounts belong to no customer and stay in clear.
    personal_data = PersonalData(
        owner=lambda user: user.customer_code,
        unowned_in_clear=True,
        events={
            "Created": fields(plain="customer_code roles", personal="email name"),
            "RoleGranted": fields(plain="role"),
            "RoleRevoked": fields(plain="role"),
            "PasswordSet": fields(plain="password_hash"),
            "TokenIssued": fields(plain="token_hash token_id", personal="label"),
            "TokenRevoked": fields(plain="token_id"),
            "Deactivated": fields(),
            "PreferencesSet": fields(plain="language timezone"),
            "PasswordLinkIssued": fields(plain="purpose nonce_hash"),
            "PasswordLinkUsed": fields(plain="purpose nonce_hash"),
        },
    )

    @staticmethod
    def create_id(email: str, **_: object) -> UUID:
        return ids.user_id(email)

    @event("Created")
    def __init__(
        self,
        email: str,
        name: str,
        roles: list[str],
        customer_code: str | None,
        actor: str,
    ) -> None:
        self.email = email
        self.name = name
        self.roles = list(roles)
        self.customer_code = customer_code
        self.password_hash: str | None = None
        self.tokens: dict[str, str] = {}  # token_id -> sha256 hex of the token
        self.active = True
        self.language: str | None = None  # of the web pages; None: the browser's
        self.timezone: str | None = None
        # purpose ("invite", "reset") -> the sha256 of the latest one-time link's
        # nonce, and whether it was used (domain.users.links)
        self.password_links: dict[str, dict[str, object]] = {}

    def grant_role(self, role: str, actor: str) -> None:
        if role in self.roles:
            raise InvalidTransition(f"{self.email} already has role {role}")
        self._role_granted(role=role, actor=actor)

    @event("RoleGranted")
    def _role_granted(self, role: str, actor: str) -> None:
        self.roles.append(role)

    def revoke_role(self, role: str, actor: str) -> None:
        if role not in self.roles:
            raise NotFound(f"{self.email} does not have role {role}")
        self._role_revoked(role=role, actor=actor)

    @event("RoleRevoked")
    def _role_revoked(self, role: str, actor: str) -> None:
        self.roles.remove(role)

    @event("PasswordSet")
    def set_password_hash(self, password_hash: str, actor: str) -> None:
        self.password_hash = password_hash

    @event("TokenIssued")
    def issue_token(self, token_id: str, token_hash: str, label: str, actor: str) -> None:
        self.tokens[token_id] = token_hash

    def revoke_token(self, token_id: str, actor: str) -> None:
        if token_id not in self.tokens:
            raise NotFound(f"{self.email} has no token {token_id}")
        self._token_revoked(token_id=token_id, actor=actor)

    @event("TokenRevoked")
    def _token_revoked(self, token_id: str, actor: str) -> None:
        del self.tokens[token_id]

    @event("PreferencesSet")
    def set_preferences(self, language: str | None, timezone: str | None, actor: str) -> None:
        self.language = language
        self.timezone = timezone

    @event("PasswordLinkIssued")
    def issue_password_link(self, purpose: str, nonce_hash: str, actor: str) -> None:
        """Only the hash: the link itself is derived when it is sent and never stored."""
        self.password_links = dict(getattr(self, "password_links", {}))
        self.password_links[purpose] = {"hash": nonce_hash, "used": False}

    @event("PasswordLinkUsed")
    def use_password_link(self, purpose: str, nonce_hash: str, actor: str) -> None:
        self.password_links = dict(getattr(self, "password_links", {}))
        self.password_links[purpose] = {"hash": nonce_hash, "used": True}

    def deactivate(self, actor: str) -> None:
        if self.active:
            self._deactivated(actor=actor)

    @event("Deactivated")
    def _deactivated(self, actor: str) -> None:
        self.active = False
        self.tokens.clear()
