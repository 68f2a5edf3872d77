"""Accounts over HTTP, for admins: list users, deactivate one, revoke a token.

The same commands as `ledgerdesk user ...` on the command line.  Users are
listed from their aggregates, not from a read model, so a deactivation or a
revocation shows in the very next answer.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.web.json_input import json_object
from domain.access import Principal
from domain.aggregates.user import User
from domain.application import Ledgerdesk
from domain.ids import normalise_email
from domain.users.commands import DeactivateUser, RevokeToken
from domain.users.handlers import all_users


def user_routes(app: Ledgerdesk) -> list[Route]:
    # channels.web.api includes these routes, so its `guarded` is imported when
    # they are built rather than when this module loads (no import cycle).
    from channels.web.api import guarded

    endpoints = UserEndpoints(app)
    return [
        guarded("/users", "GET", "manage_users", endpoints.list_users),
        guarded("/users/{email}/deactivate", "POST", "manage_users", endpoints.deactivate),
        guarded("/users/{email}/tokens/{token_id}/revoke", "POST", "manage_users",
                endpoints.revoke_token),
    ]


def user_json(user: User) -> dict[str, Any]:
    """A user as an admin sees it: token ids (to revoke them), never their hashes."""
    return {
        "email": user.email,
        "name": user.name,
        "roles": list(user.roles),
        "customer_code": user.customer_code,
        "active": user.active,
        "tokens": sorted(user.tokens),
    }


class UserEndpoints:
    def __init__(self, app: Ledgerdesk) -> None:
        self.app = app

    async def list_users(self, request: Request, who: Principal) -> Response:
        # Reads the event store: keep it off the event loop.
        users = await run_in_threadpool(all_users, self.app.store)
        return JSONResponse({"items": [user_json(u) for u in users]})

    async def deactivate(self, request: Request, who: Principal) -> Response:
        await json_object(request)  # `{}` or nothing: these commands take no fields
        email = normalise_email(request.path_params["email"])
        await run_in_threadpool(self.app.handle, DeactivateUser(email, actor=who.email))
        return JSONResponse({"email": email, "active": False})

    async def revoke_token(self, request: Request, who: Principal) -> Response:
        await json_object(request)  # `{}` or nothing: these commands take no fields
        email = normalise_email(request.path_params["email"])
        token_id = request.path_params["token_id"]
        await run_in_threadpool(self.app.handle, RevokeToken(email, token_id, actor=who.email))
        return JSONResponse({"email": email, "token_id": token_id, "revoked": True})
