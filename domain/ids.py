"""Deterministic aggregate IDs.

Things that must be unique (a customer code, a user's email, a channel
identity, an inbound message's channel id) get an aggregate whose ID is derived
from the unique value.  Creating that aggregate twice is then a version-1
conflict inside the same atomic save as everything else, which is how the
event store enforces uniqueness without a check-then-write race.
"""

from __future__ import annotations

import re
from uuid import UUID, uuid5

# Never change this: every stored ID depends on it.
NAMESPACE = UUID("5d1e2b8c-7a43-4f0e-9c1a-3b6f0d2e8a71")

REFERENCE_PATTERN = re.compile(r"^SR-[0-9]{6,}\Z")  # ASCII digits, no trailing newline


def customer_id(code: str) -> UUID:
    return uuid5(NAMESPACE, f"customer:{code}")


def request_id(reference: str) -> UUID:
    return uuid5(NAMESPACE, f"service-request:{reference}")


def user_id(email: str) -> UUID:
    return uuid5(NAMESPACE, f"user:{normalise_email(email)}")


def identity_id(kind: str, value: str) -> UUID:
    return uuid5(NAMESPACE, f"identity:{kind}:{normalise_identity(kind, value)}")


def receipt_id(channel: str, external_id: str) -> UUID:
    return uuid5(NAMESPACE, f"receipt:{channel}:{external_id}")


def contact_id(customer_code: str, channel: str, external_id: str) -> UUID:
    return uuid5(NAMESPACE, f"contact:{customer_code}:{channel}:{external_id}")


def request_shard_id(customer_code: str, shard: int) -> UUID:
    return uuid5(NAMESPACE, f"customer-requests:{customer_code}:{shard}")


def product_id(serial: str) -> UUID:
    """Serial numbers are compared without regard to case: printed labels vary."""
    return uuid5(NAMESPACE, f"installed-product:{serial.strip().upper()}")


def sequence_id(name: str) -> UUID:
    return uuid5(NAMESPACE, f"sequence:{name}")


def format_reference(number: int) -> str:
    return f"SR-{number:06d}"


def normalise_email(address: str) -> str:
    return address.strip().lower()


def normalise_identity(kind: str, value: str) -> str:
    """The canonical spelling of an identity, so `+86 10-1234` and `+86101234` match."""
    value = value.strip()
    if kind == "email":
        return normalise_email(value)
    if kind in ("phone", "fax"):
        digits = re.sub(r"[^\d]", "", value)
        return ("+" + digits) if value.startswith("+") else digits
    return value
