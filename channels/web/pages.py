"""What every page of the console, the audit view and the portal shares:
rendering a template in the reader's language, page routes that demand a
signed-in user with a permission, forms checked for CSRF, and errors shown as
pages a person can read rather than JSON.

Templates are Jinja2 with autoescaping on (everything a user wrote is text,
never markup) and Babel's catalogues installed (`_()` in templates), one
environment per language so that concurrent requests never share state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from babel.dates import format_timedelta
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from channels.web.csrf import FIELD as CSRF_FIELD
from channels.web.csrf import check_csrf, csrf_token
from channels.web.i18n import LANGUAGES, Formatter, negotiate, parse_moment, translations
from channels.web.portal_modules import SCOPE_KEY as MODULES_KEY
from channels.web.portal_modules import check_portal_module
from channels.web.recent import Recent
from channels.web.sessions import SessionUser, session_user
from channels.web.uploads import MAX_FILES
from domain import access
from domain.access import PORTAL_MODULES, Principal
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore, BlobTooLarge
from domain.errors import DomainError, NotFound, PermissionDenied
from domain.users.commands import SetUserPreferences
from projections.access_log import AccessLog
from projections.chat_presence import ChatPresence
from projections.login_attempts import LoginAttempts
from projections.registry import ReadModels

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
# The access log's `surface` for reads through the console.
SURFACE = "console"
# The views a page shows, which `Web.settle` waits for.
SHOWN_VIEWS = ("inbox", "timeline", "customers", "knowledge", "field_jobs")
SETTLE_BATCH = 500  # a form adds a few events; a backlog is the runner's to apply
MAX_FORM_BYTES = 1024 * 1024  # forms without files; uploads have their own limit


@dataclass
class Web:
    """The parts a page needs, wired by the composition root."""

    app: Ledgerdesk
    models: ReadModels
    access_log: AccessLog | None
    attempts: LoginAttempts | None
    secret_key: str
    blobs: BlobStore | None = None
    presence: ChatPresence | None = None
    # `send_mail(to, subject, body)`: plain mail through the relay (the composition
    # root passes channels.email.notify's; None without SMTP).  `public_url`: the
    # base of links in mail, never taken from a request's Host header when set.
    send_mail: Callable[[str, str, str], Awaitable[None]] | None = None
    public_url: str = ""
    # The sidebar's counts and the assignee list, kept briefly (channels.web.recent).
    recent_counts: Recent = field(default_factory=lambda: Recent(2.0))
    recent_staff: Recent = field(default_factory=lambda: Recent(30.0))
    # How long after its last activity a customer may reopen a request.
    reopen_days: int = 14
    # The audit chain's last whole walk, continued since (channels.web.audit_pages).
    chain_walk: dict[str, Any] | None = None

    @property
    def form_limit(self) -> int:
        """The largest form with files: every file at the blob store's limit."""
        return MAX_FORM_BYTES + MAX_FILES * (self.blobs.max_bytes if self.blobs else 0)

    async def run(self, command: object) -> Any:
        """Hand a command to the dispatcher, off the event loop."""
        return await run_in_threadpool(self.app.handle, command)

    async def settle(self) -> None:
        """Bring the views a page shows up to what was just written, so the page
        an agent is sent back to after a form shows what they did (and carries
        its version, or their next form would report a change that was their
        own).  The projection thread may be applying the same events at the
        same moment; the views' tracking makes that safe (the loser carries on
        from where the winner got to)."""
        for name in SHOWN_VIEWS:
            projector = self.models.projector(name)
            await run_in_threadpool(projector.catch_up, SETTLE_BATCH, 2)

    async def shown(self, reference: str, timeout: float = 3.0) -> None:
        """Wait (briefly) until the read models show a request just recorded, so
        the page a person is sent to next is not a 404 while the projections
        catch up (they run in this process, a few milliseconds behind)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = await run_in_threadpool(
                self.models["inbox"].query, "SELECT 1 AS found FROM inbox WHERE reference = ?",
                (reference,))
            if rows:
                return
            await asyncio.sleep(0.05)

    async def accessed(self, who: Principal, kind: str, subject: str,
                       detail: dict[str, Any] | None = None) -> None:
        if self.access_log is not None and not who.is_customer_side:
            await run_in_threadpool(self.access_log.record, who.email, SURFACE, kind, subject,
                                    detail)


@cache
def environment(language: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(language), newstyle=True)
    return env


def language_of(request: Request) -> str:
    user = session_user(request)
    chosen = request.query_params.get("lang") or request.session.get("lang") or (
        user.account.language if user else None)
    return negotiate(chosen, request.headers.get("accept-language", ""))


def formatter_of(request: Request) -> Formatter:
    user = session_user(request)
    return Formatter(language_of(request), (user.account.timezone if user else None) or "")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    language = language_of(request)
    fmt = formatter_of(request)
    user = session_user(request)
    page = environment(language).get_template(template).render(
        request=request, user=user, who=user.principal if user else None,
        lang=language, fmt=fmt, csrf_field=CSRF_FIELD, csrf_token=csrf_token(request),
        flash=request.session.pop("flash", None), url_with=url_with(request),
        ago=lambda value: ago(fmt, value), quote=quote,
        portal_modules=_modules_or_all(request.scope.get(MODULES_KEY)), **context)
    return HTMLResponse(page, status_code=status_code)


def _modules_or_all(modules: tuple[str, ...] | None) -> tuple[str, ...]:
    """A partner's granted modules (maybe none); everyone else sees them all."""
    return PORTAL_MODULES if modules is None else modules


def ago(fmt: Formatter, value: str | None) -> str:
    """'5 minutes ago' / '5分钟前' from a stored UTC time."""
    from datetime import UTC, datetime

    when = parse_moment(value)
    if when is None:
        return ""
    return format_timedelta(when - datetime.now(UTC), add_direction=True, threshold=1.5,
                            format="short", locale=fmt.locale)


def url_with(request: Request) -> Callable[..., str]:
    """This page's URL with some query parameters changed (None drops one)."""

    def build(**changes: Any) -> str:
        params = dict(request.query_params)
        for key, value in changes.items():
            if value is None or value == "":
                params.pop(key, None)
            else:
                params[key] = str(value)
        return request.url.path + ("?" + urlencode(params) if params else "")

    return build


def flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session["flash"] = {"message": message, "kind": kind}


def see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


async def checked_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> FormData:
    """The posted form, refused (403) without this session's CSRF token; a body
    past `max_bytes` is refused before it is read."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise BlobTooLarge(f"this form is larger than {max_bytes:,} bytes")
    form = await request.form(max_files=MAX_FILES + 1)
    check_csrf(request, form)
    return form


PageHandler = Callable[[Request, SessionUser], Awaitable[Response]]


def page(path: str, handler: PageHandler, permission: str | None = None,
         methods: tuple[str, ...] = ("GET",)) -> Route:
    """A page for signed-in users with `permission` (any signed-in user when
    None).  Signed out: to /login, coming back here afterwards.  A domain error
    becomes an error page in the reader's language."""
    if permission is not None and permission not in access.ALLOWED:
        raise ValueError(f"{path}: no permission named {permission!r} in domain.access")

    async def endpoint(request: Request) -> Response:
        user = session_user(request)
        if user is None:
            if request.method != "GET":
                return error_page(request, 401, "Please sign in again.")
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return see_other("/login?" + urlencode({"next": target}))
        try:
            await remember_language(request, web_of(request))
            if permission is not None:
                access.require(user.principal, permission)
            request.scope[MODULES_KEY] = await check_portal_module(
                web_of(request).models, request.url.path, user.principal)
            return await handler(request, user)
        except NotFound as e:
            return error_page(request, 404, e.message)
        except PermissionDenied as e:
            return error_page(request, 403, e.message)
        except BlobTooLarge as e:
            return error_page(request, 413, e.message)

    return Route(path, endpoint, methods=list(methods))


def web_of(request: Request) -> Web:
    web = request.scope.get("ledgerdesk.web")
    assert isinstance(web, Web), "the web pages are mounted without their Web"
    return web


async def remember_language(request: Request, web: Web) -> None:
    """`?lang=` on any page switches the language and keeps it: in the session,
    and on the signed-in user's account, so it follows them to another browser."""
    chosen = request.query_params.get("lang")
    if chosen not in LANGUAGES:
        return
    request.session["lang"] = chosen
    user = session_user(request)
    if user is not None and user.account.language != chosen:
        await web.run(SetUserPreferences(user.principal.email, chosen, user.account.timezone,
                                         actor=user.principal.email))


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status_code=status, status=status, message=message)


def domain_message(request: Request, error: DomainError) -> str:
    """A domain error as the reader should see it (the domain speaks English;
    the catalogue translates the messages it knows)."""
    return formatter_of(request).gettext(error.message)
