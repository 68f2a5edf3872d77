"""Invitations to the portal and password resets, by one-time link.

Staff invite a customer's contact from the console's customer page (InviteUser:
an account without a password); anyone may ask for a reset at
`/password/reset`.  Either way the link is `/portal/welcome/<token>` or
`/password/reset/<token>`, where the token is an itsdangerous signature (under
LEDGERDESK_SECRET_KEY) of the address, the purpose and the nonce the domain
handed out.  The event log holds only the nonce's sha256 (domain.users.links),
so the link is derived here at send time and never stored; the set-password
page checks the signature and the age here, and the domain checks that the
nonce is the user's latest and unused, so a link works once.

Mail goes through `Web.send_mail` (the composition root's SMTP notifier).
Without SMTP, an invitation's link is shown to the member of staff, once, to
hand over; a reset cannot be sent and is only logged.  The reset form answers
the same for every address, and does the work after the answer, so neither
the words nor the time taken tell whether an address has an account.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from channels.web.csrf import check_csrf
from channels.web.customer_pages import _context as customer_context
from channels.web.labels import N_
from channels.web.login import home_of
from channels.web.pages import (
    Web,
    checked_form,
    domain_message,
    error_page,
    flash,
    formatter_of,
    page,
    remember_language,
    render,
    see_other,
    web_of,
)
from channels.web.sessions import SessionUser, start_session
from domain import ids
from domain.access import Principal
from domain.errors import DomainError, NotFound, PermissionDenied
from domain.users.commands import InviteUser, IssuePasswordLink, SetPasswordWithLink
from domain.users.links import link_is_current

log = logging.getLogger(__name__)

SALT: Final = "ledgerdesk.password-link"
MAX_AGE: Final = {"invite": 7 * 24 * 3600, "reset": 24 * 3600}  # seconds
PATHS: Final = {"invite": "/portal/welcome/", "reset": "/password/reset/"}
TOKEN_MAX_LENGTH = 1000  # what dumps() makes is ~200 characters; more is not ours

SUBJECTS: Final = {"invite": "Ledgerdesk 客户门户邀请 / Your invitation to the Ledgerdesk portal",
                   "reset": "Ledgerdesk 重置密码 / Reset your Ledgerdesk password"}
BODIES: Final = {
    "invite": ("您好：\n\n我们为您开通了客户服务门户。"
               "请在 7 天内打开以下链接设置密码（链接仅可使用一次）：\n\n{link}\n\n"
               "Hello,\n\nAn account on our customer service portal is ready for you. "
               "Open this link within 7 days to set your password (it works once):\n\n{link}\n"),
    "reset": ("您好：\n\n有人请求重置您的密码。如是您本人，"
              "请在 24 小时内打开以下链接（仅可使用一次）；否则请忽略本邮件。\n\n{link}\n\n"
              "Hello,\n\nSomeone asked to reset your password. If it was you, open this link "
              "within 24 hours (it works once); otherwise ignore this mail.\n\n{link}\n"),
}

# Msgids for `fmt.gettext("role:" ~ role)` on the invitation form.
LABELS = (N_("role:customer"), N_("role:customer_admin"), N_("role:partner"))


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def make_token(secret_key: str, email: str, purpose: str, nonce: str) -> str:
    return _serializer(secret_key).dumps({"e": email, "p": purpose, "n": nonce})


def read_token(secret_key: str, token: str, purpose: str) -> tuple[str, str] | None:
    """(email, nonce) of a well-signed, young enough token for `purpose`; else None."""
    if len(token) > TOKEN_MAX_LENGTH:
        return None
    try:
        data = _serializer(secret_key).loads(token, max_age=MAX_AGE[purpose])
    except (SignatureExpired, BadSignature):
        return None
    if not (isinstance(data, dict) and data.get("p") == purpose
            and isinstance(data.get("e"), str) and isinstance(data.get("n"), str)):
        return None
    return data["e"], data["n"]


def link_for(web: Web, request: Request, email: str, purpose: str, nonce: str) -> str:
    base = (web.public_url or str(request.base_url)).rstrip("/")
    return base + PATHS[purpose] + make_token(web.secret_key, email, purpose, nonce)


async def _mail(web: Web, to: str, purpose: str, link: str) -> bool:
    """Send the link; False when there is no relay or it refused (logged)."""
    if web.send_mail is None:
        return False
    try:
        await web.send_mail(to, SUBJECTS[purpose], BODIES[purpose].format(link=link))
    except Exception:  # a relay's refusal must not lose the invitation: the link is shown
        log.exception("the %s mail could not be sent", purpose)
        return False
    return True


# --- the console: invite a contact -------------------------------------------


async def invite(request: Request, user: SessionUser) -> Response:
    web = web_of(request)
    code = request.path_params["code"]
    form = await checked_form(request)
    kept = {k: v for k, v in form.items() if isinstance(v, str)}
    email = ids.normalise_email(kept.get("email", "")[:320])
    try:
        nonce = await web.run(InviteUser(email, kept.get("role", "")[:40], code,
                                         actor=user.principal.email,
                                         name=kept.get("name", "").strip()[:200]))
    except DomainError as e:
        if isinstance(e, NotFound) and "customer" in e.message:
            raise
        context = await customer_context(request, user, code)
        return render(request, "console/customer.html", status_code=409
                      if e.code == "already_exists" else 400, **context,
                      kept={"invite": kept}, errors={"invite": domain_message(request, e)})
    link = link_for(web, request, email, "invite", nonce)
    if await _mail(web, email, "invite", link):
        flash(request, N_("The invitation is on its way."))
        return see_other(f"/console/customers/{code}")
    # No relay: the member of staff hands the link over (shown this once, never stored).
    context = await customer_context(request, user, code)
    return render(request, "console/customer.html", **context, kept={}, errors={},
                  invite_link=link)


# --- signed out: set a password through a link --------------------------------


def _purpose_route(purpose: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return await set_password(request, purpose)

    return endpoint


async def _current(web: Web, token: str, purpose: str) -> tuple[str, str] | None:
    found = read_token(web.secret_key, token, purpose)
    if found is None:
        return None
    email, nonce = found
    try:
        user = await run_in_threadpool(web.app.user, email)
    except NotFound:
        return None
    return (email, nonce) if link_is_current(user, purpose, nonce) else None


async def set_password(request: Request, purpose: str) -> Response:
    web = web_of(request)
    await remember_language(request, web)
    token = request.path_params["token"]
    found = await _current(web, token, purpose)
    if found is None:
        return render(request, "password/link.html", status_code=400, purpose=purpose,
                      invalid=True, errors={})
    email, nonce = found
    if request.method == "GET":
        return render(request, "password/link.html", purpose=purpose, email=email, errors={})
    form = await request.form()
    try:
        check_csrf(request, form)
    except PermissionDenied as e:
        return error_page(request, 403, e.message)
    password, again = str(form.get("password", ""))[:1024], str(form.get("again", ""))[:1024]
    if password != again:
        return render(request, "password/link.html", status_code=400, purpose=purpose,
                      email=email, errors={"again": formatter_of(request).gettext(
                          N_("The two passwords differ."))})
    try:
        await web.run(SetPasswordWithLink(email, purpose, nonce, password, actor=f"web:{email}"))
        user = await run_in_threadpool(web.app.user, email)
    except DomainError as e:
        field = "password" if "password" in e.fields else "link"
        return render(request, "password/link.html", status_code=400, purpose=purpose,
                      email=email, invalid=field == "link",
                      errors={field: domain_message(request, e)})
    language = request.session.get("lang")
    start_session(request, web.secret_key, user)
    if language:
        request.session["lang"] = language
    flash(request, N_("Your password is set. Welcome!"))
    return see_other(home_of(Principal(user.email, tuple(user.roles), user.customer_code)))


# --- signed out: ask for a reset ---------------------------------------------


async def reset_form(request: Request) -> Response:
    await remember_language(request, web_of(request))
    return render(request, "password/reset.html", email="", sent=False)


async def reset_request(request: Request) -> Response:
    web = web_of(request)
    form = await request.form()
    try:
        check_csrf(request, form)
    except PermissionDenied as e:
        return error_page(request, 403, e.message)
    email = ids.normalise_email(str(form.get("email", "")).strip()[:320])
    address = request.client.host if request.client else "unknown"
    account = f"reset:{email}"  # counted apart from sign-in failures of the same account
    if web.attempts is not None:
        if await run_in_threadpool(web.attempts.blocked, account, address):
            return render(request, "password/reset.html", status_code=429, email=email,
                          sent=False, throttled=True)
        await run_in_threadpool(web.attempts.failed, account, address)
    # Not the request's Host header: anyone may ask for a reset, and a forged Host
    # would mail the victim a working link to the forger's site.
    base_link = web.public_url.rstrip("/")

    async def send() -> None:
        if "@" not in email or web.send_mail is None or not base_link:
            if "@" in email:
                log.warning("a password reset was asked for, but it cannot be mailed: %s",
                            "no SMTP relay is configured" if web.send_mail is None
                            else "LEDGERDESK_PUBLIC_URL is unset")
            return
        try:
            nonce = await web.run(IssuePasswordLink(email, "reset", actor=f"web:{email}"))
        except NotFound:
            return  # unknown or deactivated: the answer was the same
        link = base_link + PATHS["reset"] + make_token(web.secret_key, email, "reset", nonce)
        await _mail(web, email, "reset", link)

    answer = render(request, "password/reset.html", email="", sent=True)
    answer.background = BackgroundTask(send)
    return answer


def password_link_routes() -> list[BaseRoute]:
    return [
        page("/console/customers/{code}/invite", invite, "invite_users", methods=("POST",)),
        Route("/portal/welcome/{token}", _purpose_route("invite"), methods=["GET", "POST"]),
        Route("/password/reset", reset_form, methods=["GET"]),
        Route("/password/reset", reset_request, methods=["POST"]),
        Route("/password/reset/{token}", _purpose_route("reset"), methods=["GET", "POST"]),
    ]
