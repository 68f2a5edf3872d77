"""One-time links that set a password: the invitation to the portal and the
password reset.

No secret goes into an event (README, "Personal data and erasure"): a link
carries a random nonce, signed by the web channel with the session secret
together with the address and the purpose; the User aggregate records only
the nonce's sha256 and, once the link sets a password, that it was used.  So
whoever reads the event log cannot make a link, a link works once, and a newer
link of the same purpose voids the older one.  The signature and the link's
age are the web channel's to check (it holds the secret); whether the nonce is
the latest and unused is decided here, from the aggregate, never a read model.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

from domain.aggregates.user import User
from domain.commands import Handlers
from domain.errors import AlreadyExists, InvalidInput, NotFound
from domain.store import Store
from domain.users.commands import AddUser, InviteUser, IssuePasswordLink, SetPasswordWithLink
from domain.users.handlers import _password_hash, add_user, load_user
from domain.vocabulary import CUSTOMER_ROLES, require_one_of

handlers = Handlers()

PURPOSES: Final = ("invite", "reset")
NONCE_BYTES = 24  # 192 bits: the signature protects the link, the nonce makes it one-time


class InvalidPasswordLink(InvalidInput):
    """Unknown, used, replaced by a newer one: one answer for all."""

    code = "invalid_password_link"


def nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def link_is_current(user: User, purpose: str, nonce: str) -> bool:
    """Whether `nonce` is the user's latest unused link of `purpose`."""
    latest = getattr(user, "password_links", {}).get(purpose)
    return (user.active and latest is not None and not latest["used"]
            and hmac.compare_digest(str(latest["hash"]), nonce_hash(nonce)))


def _issue(store: Store, email: str, purpose: str, actor: str) -> str:
    require_one_of(purpose, PURPOSES, "purpose")
    nonce = secrets.token_urlsafe(NONCE_BYTES)
    store.change(lambda: load_user(store, email),
                 lambda u: u.issue_password_link(purpose, nonce_hash(nonce), actor))
    return nonce


@handlers(InviteUser)
def invite_user(store: Store, c: InviteUser) -> str:
    require_one_of(c.role, CUSTOMER_ROLES, "role")
    try:
        user: User | None = load_user(store, c.email)
    except NotFound:
        user = None
    if user is None:
        add_user(store, AddUser(c.email, [c.role], actor=c.actor, name=c.name,
                                customer_code=c.customer_code))
    elif user.customer_code != c.customer_code or user.password_hash or not user.active:
        # Inviting again is for someone who never took up the invitation; an
        # account in use is not handed a new way in by a colleague's form.
        raise AlreadyExists(f"{user.email} has an account already; they can reset the password")
    return _issue(store, c.email, "invite", c.actor)


@handlers(IssuePasswordLink)
def issue_password_link(store: Store, c: IssuePasswordLink) -> str:
    user = load_user(store, c.email)
    if not user.active:
        raise NotFound(f"no user {c.email!r}")
    return _issue(store, user.email, c.purpose, c.actor)


@handlers(SetPasswordWithLink)
def set_password_with_link(store: Store, c: SetPasswordWithLink) -> None:
    require_one_of(c.purpose, PURPOSES, "purpose")
    password_hash = _password_hash(c.password)  # before the link is spent on a bad password

    def use(user: User) -> None:
        if not link_is_current(user, c.purpose, c.nonce):
            raise InvalidPasswordLink("this link was used already, replaced or is unknown",
                                      fields={"link": "used, replaced or unknown"})
        user.set_password_hash(password_hash, c.actor or user.email)
        user.use_password_link(c.purpose, nonce_hash(c.nonce), c.actor or user.email)

    try:
        store.change(lambda: load_user(store, c.email), use)
    except NotFound:
        raise InvalidPasswordLink("this link was used already, replaced or is unknown",
                                  fields={"link": "used, replaced or unknown"}) from None
