"""Cross-site request forgery: every form carries the session's token.

The token is random, kept in the (signed) session and rendered into each form
as the hidden field `csrf_token`; a POST from a page without it, or with
another session's, is refused with 403 before its handler runs.  SameSite=Lax
on the cookie already stops most cross-site posts; the token covers the rest
(and older browsers).
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.requests import HTTPConnection

from domain.errors import PermissionDenied

FIELD = "csrf_token"


def csrf_token(conn: HTTPConnection) -> str:
    token = conn.session.get(FIELD)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        conn.session[FIELD] = token
    return token


def check_csrf(conn: HTTPConnection, form: FormData) -> None:
    sent = form.get(FIELD)
    expected = conn.session.get(FIELD)
    if not (isinstance(sent, str) and isinstance(expected, str)
            and hmac.compare_digest(sent, expected)):
        raise PermissionDenied("this form has expired or did not come from this desk; "
                               "reload the page and try again")
