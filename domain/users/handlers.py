"""Handlers of the users context, and authentication (a read of the User aggregate)."""

from __future__ import annotations

from uuid import UUID
from zoneinfo import available_timezones

from domain import ids
from domain.aggregates.customer import Customer
from domain.aggregates.user import User
from domain.commands import Handlers
from domain.errors import AlreadyExists, NotFound, PermissionDenied, invalid
from domain.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    hash_token,
    new_token,
    parse_token,
    verify_password,
)
from domain.store import Pending, Store
from domain.users.commands import (
    AddUser,
    DeactivateUser,
    GrantRole,
    IssueToken,
    RevokeRole,
    RevokeToken,
    SetPassword,
    SetUserPreferences,
)
from domain.vocabulary import CUSTOMER_ROLES, LANGUAGES, ROLES, require_one_of

handlers = Handlers()


def load_user(store: Store, email: str) -> User:
    user = store.find(User, *ids.user_ids(email))
    if user is None:
        raise NotFound(f"no user {email!r}")
    return user


def all_users(store: Store) -> list[User]:
    """Every user, in the order they were created, each loaded from its
    aggregate: a revocation or deactivation shows at once, not after a lag.
    Users are few, so no read model (Store.created)."""
    return store.created(User)


def token_id_of(token: str) -> str:
    """The id under which a token is stored (and revoked); not a secret."""
    parsed = parse_token(token)
    if parsed is None:
        raise invalid("token", "not a Ledgerdesk API token")
    return parsed[1]


def authenticate_token(store: Store, token: str) -> User:
    """The token's user, read from the aggregate (never a lagging read model), so a
    token revoked or a user deactivated a moment ago, in any process, is refused."""
    parsed = parse_token(token)
    if parsed is None:
        raise PermissionDenied("not a Ledgerdesk API token")
    user_hex, token_id = parsed
    try:
        user = store.get(User, UUID(hex=user_hex))
    except ValueError:
        user = None
    if user is None or not user.active or user.tokens.get(token_id) != hash_token(token):
        raise PermissionDenied("unknown or revoked token")
    return user


def authenticate_password(store: Store, email: str, password: str) -> User:
    user = store.find(User, *ids.user_ids(email))
    if user is None or not user.active or not user.password_hash:
        # The same argon2 work as for a real account, so the time taken does not
        # tell an unknown address from a wrong password.
        verify_password(_DECOY_HASH, password)
        raise PermissionDenied("wrong email or password")
    if not verify_password(user.password_hash, password):
        raise PermissionDenied("wrong email or password")
    return user


_DECOY_HASH = hash_password("a password nobody has")


def _password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise invalid("password", f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return hash_password(password)


@handlers(AddUser)
def add_user(store: Store, c: AddUser) -> UUID:
    email = ids.normalise_email(c.email)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise invalid("email", f"{email!r} is not an email address")
    roles = list(dict.fromkeys(c.roles))
    if not roles:
        raise invalid("role", "a user needs at least one role")
    for role in roles:
        require_one_of(role, ROLES, "role")
    if any(role in CUSTOMER_ROLES for role in roles) and not c.customer_code:
        raise invalid("customer", "customer users need --customer CODE")
    if c.customer_code:
        store.load(Customer, ids.customer_id(c.customer_code), f"no customer {c.customer_code!r}")
    if store.get(User, ids.user_ids(email)[1]) is not None:  # a store from before keyed ids
        raise AlreadyExists(f"a user with email {email} already exists")
    password_hash = _password_hash(c.password) if c.password is not None else None
    user = User(email=email, name=c.name or email.split("@")[0], roles=roles,
                customer_code=c.customer_code, actor=c.actor)
    if password_hash:
        user.set_password_hash(password_hash=password_hash, actor=c.actor)
    store.create(Pending([user]), f"a user with email {email} already exists")
    return user.id


@handlers(GrantRole)
def grant_role(store: Store, c: GrantRole) -> None:
    require_one_of(c.role, ROLES, "role")
    store.change(lambda: load_user(store, c.email), lambda u: u.grant_role(c.role, c.actor))


@handlers(RevokeRole)
def revoke_role(store: Store, c: RevokeRole) -> None:
    store.change(lambda: load_user(store, c.email), lambda u: u.revoke_role(c.role, c.actor))


@handlers(SetPassword)
def set_password(store: Store, c: SetPassword) -> None:
    password_hash = _password_hash(c.password)
    store.change(lambda: load_user(store, c.email),
                 lambda u: u.set_password_hash(password_hash, c.actor))


@handlers(IssueToken)
def issue_token(store: Store, c: IssueToken) -> str:
    user = load_user(store, c.email)
    token, token_id = new_token(user.id.hex)
    store.change(lambda: load_user(store, c.email),
                 lambda u: u.issue_token(token_id, hash_token(token), c.label, c.actor))
    return token


@handlers(RevokeToken)
def revoke_token(store: Store, c: RevokeToken) -> None:
    store.change(lambda: load_user(store, c.email), lambda u: u.revoke_token(c.token_id, c.actor))


@handlers(DeactivateUser)
def deactivate_user(store: Store, c: DeactivateUser) -> None:
    store.change(lambda: load_user(store, c.email), lambda u: u.deactivate(c.actor))


@handlers(SetUserPreferences)
def set_user_preferences(store: Store, c: SetUserPreferences) -> None:
    if c.language is not None:
        require_one_of(c.language, LANGUAGES, "language")
    if c.timezone is not None and c.timezone not in available_timezones():
        raise invalid("timezone", f"{c.timezone!r} is not a time zone (e.g. Asia/Shanghai)")
    store.change(lambda: load_user(store, c.email),
                 lambda u: u.set_preferences(c.language, c.timezone, c.actor))
