"""User administration for admins: add users, issue and revoke API tokens,
grant and revoke roles, deactivate.

The same commands as `ledgerdesk user ...` and `/api/v1/users`.  Users are
read from their aggregates (domain.users.handlers.all_users), not a read
model, so a change shows on the very next page.

Each form posts to `/console/admin/users/{action}` with the user's email as
a form field rather than in the path: an address may hold characters a path
segment cannot carry.  Success flashes and redirects (a reload never posts
twice), except issuing a token: the token exists only in that one answer
(only its hash is stored), so it is rendered on the page itself, never put in
the session, the flash or a URL, and the answer is marked not to be cached.
A refusal re-renders the page with the message beside the form, what was
typed kept (never a password).

Deactivating needs an explicit "I understand" tick, checked here (no script:
the CSP forbids inline script).  An admin may not deactivate themselves or
drop their own admin role from here: that would lock them out mid-page;
another admin, or the CLI, can.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from channels.web.pages import (
    checked_form,
    domain_message,
    flash,
    page,
    render,
    see_other,
    web_of,
)
from channels.web.sessions import SessionUser
from domain import ids
from domain.errors import DomainError, InvalidTransition, invalid
from domain.users.commands import (
    AddUser,
    DeactivateUser,
    GrantRole,
    IssueToken,
    RevokeRole,
    RevokeToken,
)
from domain.users.handlers import all_users
from domain.vocabulary import CUSTOMER_ROLES, ROLES

USERS = "/console/admin/users"
# Statuses of a refused form, by the domain error's code; anything else is 422.
STATUS_BY_CODE = {"invalid": 400, "already_exists": 409, "conflict": 409}

Build = Callable[[FormData, str], object]


def _text(form: FormData, name: str, limit: int) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise invalid(name, f"{name} must be text")
    if len(value) > limit:
        raise invalid(name, f"{name} is longer than {limit} characters")
    return value


def _email(form: FormData) -> str:
    email = _text(form, "email", 320).strip()
    if not email:
        raise invalid("email", "email is required")
    return ids.normalise_email(email)


def _add_user(form: FormData, actor: str) -> AddUser:
    password = _text(form, "password", 1024)
    return AddUser(_email(form), [_text(form, "role", 40)], actor=actor,
                   name=_text(form, "name", 200).strip(),
                   customer_code=_text(form, "customer_code", 64).strip() or None,
                   password=password or None)


def _deactivate(form: FormData, actor: str) -> DeactivateUser:
    email = _email(form)
    if form.get("confirm") != "yes":
        raise invalid("confirm", "tick “I understand” to deactivate this user")
    if email == actor:
        raise InvalidTransition("you cannot deactivate yourself; ask another admin")
    return DeactivateUser(email, actor=actor)


def _revoke_role(form: FormData, actor: str) -> RevokeRole:
    email, role = _email(form), _text(form, "role", 40)
    if email == actor and role == "admin":
        raise InvalidTransition("you cannot revoke your own admin role; ask another admin")
    return RevokeRole(email, role, actor=actor)


BUILDERS: dict[str, tuple[Build, str]] = {
    # action: (command from (form, actor), what success says: a msgid)
    "add": (_add_user, "User added."),
    "grant-role": (lambda f, actor: GrantRole(_email(f), _text(f, "role", 40), actor=actor),
                   "Role granted."),
    "revoke-role": (_revoke_role, "Role revoked."),
    "revoke-token": (lambda f, actor: RevokeToken(_email(f), _text(f, "token_id", 100).strip(),
                                                  actor=actor), "Token revoked."),
    "deactivate": (_deactivate, "User deactivated: their sessions and tokens no longer work."),
}


def admin_routes() -> list[BaseRoute]:
    return [
        page(USERS, users_page, "manage_users"),
        page(f"{USERS}/issue-token", issue_token, "manage_users", methods=("POST",)),
        *(page(f"{USERS}/{action}", _endpoint(action), "manage_users", methods=("POST",))
          for action in BUILDERS),
    ]


def user_row(user: Any) -> dict[str, Any]:
    """A user as the page lists them: token ids (to revoke), never hashes."""
    return {"email": user.email, "name": user.name, "roles": list(user.roles),
            "customer_code": user.customer_code, "active": user.active,
            "tokens": sorted(user.tokens)}


async def render_users(request: Request, status: int = 200, *, errors: dict[str, str] | None
                       = None, kept: dict[str, Any] | None = None,
                       new_token: dict[str, str] | None = None) -> Response:
    """The users page; `errors` and `kept` by form key: "add", or
    "<action>:<email>" for a form on one user's row."""
    web = web_of(request)
    users = await run_in_threadpool(all_users, web.app.store)
    response = render(request, "admin/users.html", status_code=status,
                      users=[user_row(u) for u in users], roles=ROLES,
                      customer_roles=CUSTOMER_ROLES, errors=errors or {}, kept=kept or {},
                      new_token=new_token)
    if new_token is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


async def users_page(request: Request, user: SessionUser) -> Response:
    return await render_users(request)


def _status(error: DomainError) -> int:
    return STATUS_BY_CODE.get(error.code, 422)


def _kept(form: FormData) -> dict[str, str]:
    """What was typed, to fill the form again: never a password."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "password"
            and k != "csrf_token"}


def _form_key(action: str, form: FormData) -> str:
    if action == "add":
        return "add"
    email = form.get("email", "")
    return f"{action}:{ids.normalise_email(email) if isinstance(email, str) else ''}"


def _endpoint(action: str) -> Callable[[Request, SessionUser], Any]:
    build, done = BUILDERS[action]

    async def endpoint(request: Request, user: SessionUser) -> Response:
        form = await checked_form(request)
        key = _form_key(action, form)
        try:
            await web_of(request).run(build(form, user.principal.email))
        except DomainError as e:
            return await render_users(request, _status(e), errors={key: domain_message(request, e)},
                                      kept={key: _kept(form)})
        flash(request, done)
        return see_other(USERS)

    return endpoint


async def issue_token(request: Request, user: SessionUser) -> Response:
    """A new API token, shown in this answer only."""
    form = await checked_form(request)
    key = _form_key("issue-token", form)
    try:
        email = _email(form)
        token = await web_of(request).run(
            IssueToken(email, actor=user.principal.email, label=_text(form, "label", 200).strip()))
    except DomainError as e:
        return await render_users(request, _status(e), errors={key: domain_message(request, e)},
                                  kept={key: _kept(form)})
    return await render_users(request, new_token={"email": email, "token": str(token)})
