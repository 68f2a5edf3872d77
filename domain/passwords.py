"""Password and API-token hashing, kept out of the aggregates so they stay pure."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(user_hex: str) -> tuple[str, str]:
    """A fresh API token and its id.  The token names its user so that checking
    it needs one aggregate read, not a scan: `ld_<user hex>_<token id>_<secret>`."""
    token_id = secrets.token_hex(4)
    return f"ld_{user_hex}_{token_id}_{secrets.token_urlsafe(32)}", token_id


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_token(token: str) -> tuple[str, str] | None:
    """(user hex, token id) from a token, or None if it is not shaped like one."""
    parts = token.split("_", 3)
    if len(parts) != 4 or parts[0] != "ld" or len(parts[1]) != 32:
        return None
    return parts[1], parts[2]
