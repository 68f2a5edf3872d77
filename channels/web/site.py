"""The web pages' part of the ASGI app: sessions, sign-in, the console, the
audit view, static files.  The composition root mounts these routes beside
the JSON API (which authenticates by bearer token instead)."""

from __future__ import annotations

from pathlib import Path

from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from channels.web.admin_pages import admin_routes
from channels.web.attachments import attachment_routes
from channels.web.audit_pages import audit_routes
from channels.web.chat import chat_routes
from channels.web.complaint_pages import notification_routes
from channels.web.console import console_routes
from channels.web.customer_pages import customer_routes
from channels.web.fax_pages import fax_routes
from channels.web.field_pages import field_routes
from channels.web.knowledge_pages import knowledge_page_routes
from channels.web.live import LiveFeed, live_routes
from channels.web.login import login_routes
from channels.web.pages import Web
from channels.web.password_links import password_link_routes
from channels.web.portal import portal_routes
from channels.web.portal_account import account_routes
from channels.web.portal_preferences import preference_routes
from channels.web.reports_pages import reports_routes
from channels.web.request_forms import request_form_routes
from channels.web.returns_pages import returns_page_routes
from channels.web.sessions import SESSION_COOKIE, SESSION_MAX_AGE, SessionBackend
from channels.web.settlement_pages import settlement_routes
from channels.web.survey_pages import survey_routes
from channels.web.team_pages import team_routes

STATIC = Path(__file__).parent / "static"


class WithWeb:
    """Puts the pages' `Web` into every request's scope (pages.web_of)."""

    def __init__(self, app: ASGIApp, web: Web) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["ledgerdesk.web"] = self.web
        await self.app(scope, receive, send)


def web_mount(web: Web, feed: LiveFeed, secure_cookies: bool = False) -> BaseRoute:
    routes: list[BaseRoute] = [
        *login_routes(),
        *password_link_routes(),
        *console_routes(),
        *request_form_routes(),
        *notification_routes(),
        *returns_page_routes(),
        *settlement_routes(),
        *field_routes(),
        *attachment_routes(),
        *customer_routes(),
        *team_routes(),
        *fax_routes(),
        *audit_routes(),
        *portal_routes(),
        *account_routes(),
        *preference_routes(),
        *admin_routes(),
        *live_routes(feed),
        *chat_routes(feed),
        *survey_routes(),
        *reports_routes(),
        *knowledge_page_routes(),
    ]
    middleware = [
        Middleware(WithWeb, web=web),
        Middleware(SessionMiddleware, secret_key=web.secret_key, session_cookie=SESSION_COOKIE,
                   max_age=SESSION_MAX_AGE, same_site="lax", https_only=secure_cookies),
        Middleware(AuthenticationMiddleware, backend=SessionBackend(web.app, web.secret_key)),
    ]
    return Mount("", routes=[Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
                             *routes], middleware=middleware)
