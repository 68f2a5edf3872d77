"""Bearer tokens -> a `domain.access.Principal`, for Starlette's AuthenticationMiddleware.

This only says who is calling; what they may see and do is decided in
domain.access.  A request without a bearer token passes as anonymous (so public
routes keep working) and is refused with 401 by `principal_of` where a
principal is needed; a token nobody recognises is refused by the middleware.
"""

from __future__ import annotations

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from domain.access import Principal
from domain.application import Ledgerdesk
from domain.errors import PermissionDenied, Unauthenticated

BEARER_HINT = "send Authorization: Bearer <token>"


class PrincipalUser(BaseUser):
    """Starlette's view of a signed-in caller; the decisions use `.principal`."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.email

    @property
    def identity(self) -> str:
        return self.principal.email


class BearerTokenBackend(AuthenticationBackend):
    def __init__(self, app: Ledgerdesk) -> None:
        self.app = app

    async def authenticate(
        self, conn: HTTPConnection
    ) -> tuple[AuthCredentials, BaseUser] | None:
        scheme, _, token = conn.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            # Loading the user reads the event store: keep it off the event loop.
            user = await run_in_threadpool(self.app.authenticate_token, token.strip())
        except PermissionDenied as e:
            raise AuthenticationError(e.message) from None
        principal = Principal(user.email, tuple(user.roles), user.customer_code)
        return AuthCredentials(["authenticated"]), PrincipalUser(principal)


def principal_of(conn: HTTPConnection) -> Principal:
    """The caller, or 401 when the request carried no usable credentials."""
    user = conn.scope.get("user")
    if isinstance(user, PrincipalUser):
        return user.principal
    raise Unauthenticated(BEARER_HINT)
