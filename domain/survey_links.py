"""Signed survey answers: what a satisfaction survey's links and buttons carry.

A survey asks about one resolution of one request (domain.aggregates.
service_request counts them).  Each score offered is a signed token of
(reference, resolution, score), made with itsdangerous under
LEDGERDESK_SECRET_KEY when the survey is sent (policies.survey) and checked
where the answer arrives (the web's /survey/{token}, Telegram's callback
query).  The token is never stored: the event log holds only the survey's text
and, once answered, the rating.  It proves that we offered this score for this
resolution; the domain decides whether it may still be given (one rating per
resolution, not for an earlier one).

The token is short on purpose: Telegram's callback data holds 64 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from itsdangerous import BadSignature, Signer

SALT: Final = "ledgerdesk.survey"
CALLBACK_PREFIX: Final = "csat:"  # Telegram callback data: this, then a token
MAX_TOKEN: Final = 200


@dataclass(frozen=True)
class SurveyAnswer:
    reference: str
    resolution: int
    score: int
    customer: str = ""  # the customer the survey went to (email links carry it)


def _signer(secret_key: str) -> Signer:
    return Signer(secret_key, salt=SALT, sep="~")


def make_token(secret_key: str, reference: str, resolution: int, score: int,
               customer: str = "") -> str:
    """`customer`: named in an email link, whose rating is recorded as theirs;
    left out of Telegram's buttons (64 bytes), whose press names the user."""
    tail = f".{customer}" if customer else ""
    return _signer(secret_key).sign(f"{reference}.{resolution}.{score}{tail}").decode()


def read_token(secret_key: str, token: str) -> SurveyAnswer | None:
    """The answer a well-signed token carries; None for anything else."""
    if not secret_key or not token or len(token) > MAX_TOKEN:
        return None
    try:
        payload = _signer(secret_key).unsign(token).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    reference, _, rest = payload.partition(".")
    resolution, _, rest = rest.partition(".")
    score, _, customer = rest.partition(".")
    if not (reference and resolution.isdigit() and score in ("1", "2", "3", "4", "5")):
        return None
    return SurveyAnswer(reference, int(resolution), int(score), customer)
