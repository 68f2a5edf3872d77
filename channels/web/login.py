"""Signing in and out, and `/`, which sends each person to their home page."""

from __future__ import annotations

from urllib.parse import urlparse

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.web.csrf import check_csrf
from channels.web.pages import (
    error_page,
    formatter_of,
    remember_language,
    render,
    see_other,
    web_of,
)
from channels.web.sessions import session_user, start_session
from domain.access import Principal
from domain.errors import PermissionDenied


def home_of(who: Principal) -> str:
    """Staff to the console, auditors to the audit view, customers and partners
    to the portal."""
    if who.is_staff:
        return "/console"
    if who.is_auditor:
        return "/console/audit"
    return "/portal"


def safe_next(target: str | None, fallback: str) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not target:
        return fallback
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


async def root(request: Request) -> Response:
    user = session_user(request)
    return see_other(home_of(user.principal) if user else "/login")


async def login_form(request: Request) -> Response:
    await remember_language(request, web_of(request))
    user = session_user(request)
    if user is not None:
        return see_other(safe_next(request.query_params.get("next"), home_of(user.principal)))
    return render(request, "login.html", next=request.query_params.get("next", ""), email="")


async def login(request: Request) -> Response:
    web = web_of(request)
    form = await request.form()
    try:
        check_csrf(request, form)
    except PermissionDenied as e:
        return error_page(request, 403, e.message)
    email = str(form.get("email", "")).strip()[:320]
    password = str(form.get("password", ""))[:1024]
    target = str(form.get("next", ""))
    address = request.client.host if request.client else "unknown"
    _ = formatter_of(request).gettext

    def again(message: str, status: int) -> Response:
        return render(request, "login.html", status_code=status, error=message, email=email,
                      next=target)

    if web.attempts is not None and await run_in_threadpool(web.attempts.blocked, email, address):
        return again(_("Too many failed sign-ins. Wait a few minutes and try again."), 429)
    try:
        user = await run_in_threadpool(web.app.authenticate_password, email, password)
    except PermissionDenied:
        if web.attempts is not None:
            await run_in_threadpool(web.attempts.failed, email, address)
        return again(_("Wrong email or password."), 400)
    if web.attempts is not None:
        await run_in_threadpool(web.attempts.succeeded, email)
    language = request.session.get("lang")
    start_session(request, web.secret_key, user)
    if language:
        request.session["lang"] = language
    who = Principal(user.email, tuple(user.roles), user.customer_code)
    return see_other(safe_next(target, home_of(who)))


async def logout(request: Request) -> Response:
    form = await request.form()
    try:
        check_csrf(request, form)
    except PermissionDenied as e:
        return error_page(request, 403, e.message)
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language
    return see_other("/login")


def login_routes() -> list[Route]:
    return [
        Route("/", root, methods=["GET"]),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
