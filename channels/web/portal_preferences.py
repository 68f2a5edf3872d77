"""The portal's preferences: the person's language and time zone, the
organisation's preferred channel for notifications, its linked identities,
and a one-time code that links a Telegram account.

Language and time zone belong to the user (SetUserPreferences); the preferred
channel belongs to the organisation (the customer's SetPreferences), so only
its customer_admin or a partner changes it and a plain customer sees it.  A
Telegram link code is shown once, on the page that issued it: the domain keeps
a keyed hash only (domain.chat_links), and the code is never put in the
session cookie or a redirect, which a browser or a proxy might keep.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from channels.web.labels import N_
from channels.web.pages import checked_form, domain_message, flash, page, render, see_other, web_of
from channels.web.sessions import SessionUser
from domain.chat_links.commands import IssueLinkCode
from domain.customers.commands import SetPreferences
from domain.errors import DomainError, NotFound, invalid
from domain.users.commands import SetUserPreferences
from projections import queries

TIMEZONES: Final = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore",
                    "Asia/Tokyo", "Europe/Stockholm", "Europe/Berlin", "Europe/London",
                    "America/New_York", "UTC")
# Where the organisation wants to hear from us; "web": in the portal only.
NOTIFICATION_CHANNELS: Final = ("email", "telegram", "web")
NOTIFICATION_KEY: Final = "notification_channel"
# Who may change the organisation's preference (not a plain customer's to set for everyone).
ORGANISATION_ROLES: Final = frozenset({"customer_admin", "partner"})


def preference_routes() -> list[BaseRoute]:
    return [
        page("/portal/preferences", preferences, "use_portal"),
        page("/portal/preferences", save_preferences, "use_portal", methods=("POST",)),
        page("/portal/preferences/notifications", save_notifications, "use_portal",
             methods=("POST",)),
        page("/portal/preferences/telegram", telegram_code, "use_portal", methods=("POST",)),
    ]


def _actor(user: SessionUser) -> str:
    return f"web:{user.principal.email}"  # sealed with the customer's key (domain.personal)


def _may_set_organisation(user: SessionUser) -> bool:
    return any(role in ORGANISATION_ROLES for role in user.principal.roles)


async def _show(request: Request, user: SessionUser, status_code: int = 200,
                errors: dict[str, str] | None = None, **extra: Any) -> Response:
    code = user.principal.customer_code
    customer: dict[str, Any] | None = None
    if code:
        try:
            customer = await run_in_threadpool(queries.customer_360, web_of(request).models,
                                               user.principal, code)
        except NotFound:
            customer = None
    preferences = (customer or {}).get("preferences") or {}
    return render(request, "portal/preferences.html", status_code=status_code,
                  tab="preferences", timezones=TIMEZONES, errors=errors or {},
                  identities=(customer or {}).get("channel_identities") or [],
                  channels=NOTIFICATION_CHANNELS,
                  notification_channel=preferences.get(NOTIFICATION_KEY) or "",
                  may_set_organisation=_may_set_organisation(user), **extra)


async def preferences(request: Request, user: SessionUser) -> Response:
    return await _show(request, user)


async def save_preferences(request: Request, user: SessionUser) -> Response:
    form = await checked_form(request)
    language = str(form.get("language", "")) or None
    timezone = str(form.get("timezone", "")) or None
    try:
        await web_of(request).run(SetUserPreferences(user.principal.email, language, timezone,
                                                     actor=_actor(user)))
    except DomainError as e:
        return await _show(request, user, 400, {"preferences": domain_message(request, e)})
    if language:
        request.session["lang"] = language
    flash(request, N_("Preferences saved."))
    return see_other("/portal/preferences")


async def save_notifications(request: Request, user: SessionUser) -> Response:
    form = await checked_form(request)
    channel = str(form.get("channel", ""))
    try:
        if not _may_set_organisation(user):
            raise invalid("channel", N_("Your organisation's administrator sets this."))
        if channel not in NOTIFICATION_CHANNELS:
            raise invalid("channel", N_("Choose a channel."))
        await web_of(request).run(SetPreferences(user.principal.customer_code or "",
                                                 {NOTIFICATION_KEY: channel},
                                                 actor=_actor(user)))
    except DomainError as e:
        return await _show(request, user, 400, {"notifications": domain_message(request, e)})
    await web_of(request).settle()
    flash(request, N_("Preferences saved."))
    return see_other("/portal/preferences")


async def telegram_code(request: Request, user: SessionUser) -> Response:
    await checked_form(request)
    try:
        code = await web_of(request).run(IssueLinkCode(user.principal.customer_code or "",
                                                       actor=_actor(user)))
    except DomainError as e:
        return await _show(request, user, 400, {"telegram": domain_message(request, e)})
    return await _show(request, user, link_code=code)
