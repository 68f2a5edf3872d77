"""Signed-in people in a browser: the session cookie -> a `Principal`.

Starlette's SessionMiddleware keeps the session in a cookie signed with
LEDGERDESK_SECRET_KEY (HttpOnly, SameSite=Lax, Secure when the desk is served
over TLS).  The cookie names the user and a fingerprint of the password they
signed in with; every request loads the User aggregate (never a lagging read
model), so a deactivated user or a changed password ends every session at
once, in every process.  Logging out empties the session.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from channels.web.auth import PrincipalUser
from domain.access import Principal
from domain.aggregates.user import User
from domain.application import Ledgerdesk
from domain.errors import NotFound

SESSION_COOKIE = "ledgerdesk_session"
SESSION_MAX_AGE = 12 * 3600  # one working day and a bit; then sign in again


@dataclass(frozen=True)
class Account:
    """What a page needs of the signed-in user beyond the access decisions."""

    name: str
    language: str | None
    timezone: str | None


class SessionUser(PrincipalUser):
    def __init__(self, principal: Principal, account: Account) -> None:
        super().__init__(principal)
        self.account = account


def password_fingerprint(secret_key: str, user: User) -> str:
    """Changes when the password does: a session outlives no password change."""
    return hmac.new(secret_key.encode(), (user.password_hash or "").encode(),
                    hashlib.sha256).hexdigest()[:32]


def start_session(conn: HTTPConnection, secret_key: str, user: User) -> None:
    conn.session.clear()
    conn.session.update({"user": user.email, "pw": password_fingerprint(secret_key, user)})


class SessionBackend(AuthenticationBackend):
    def __init__(self, app: Ledgerdesk, secret_key: str) -> None:
        self.app = app
        self.secret_key = secret_key

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        email = conn.session.get("user")
        if not isinstance(email, str):
            return None
        user = await run_in_threadpool(self._user, email)
        if (user is None or not user.active or not hmac.compare_digest(
                str(conn.session.get("pw", "")), password_fingerprint(self.secret_key, user))):
            conn.session.clear()
            return None
        principal = Principal(user.email, tuple(user.roles), user.customer_code)
        account = Account(user.name, getattr(user, "language", None),
                          getattr(user, "timezone", None))
        return AuthCredentials(["authenticated"]), SessionUser(principal, account)

    def _user(self, email: str) -> User | None:
        try:
            return self.app.user(email)
        except NotFound:
            return None


def session_user(conn: HTTPConnection) -> SessionUser | None:
    user = conn.scope.get("user")
    return user if isinstance(user, SessionUser) else None
