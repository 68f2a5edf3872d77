"""Commands of the customers context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RegisterCustomer:
    code: str
    name: str
    actor: str
    kind: str = "company"
    classification: str = "standard"
    identities: Sequence[tuple[str, str]] = ()  # (kind, value): email, phone, fax, telegram
    profile: dict[str, Any] | None = None


@dataclass(frozen=True)
class UpdateCustomer:
    code: str
    changes: dict[str, Any]
    actor: str


@dataclass(frozen=True)
class AddContact:
    code: str
    name: str
    actor: str
    department: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class RemoveContact:
    code: str
    contact_id: str
    actor: str


@dataclass(frozen=True)
class LinkIdentity:
    code: str
    kind: str
    value: str
    actor: str


@dataclass(frozen=True)
class UnlinkIdentity:
    code: str
    kind: str
    value: str
    actor: str


@dataclass(frozen=True)
class AssignRepresentative:
    """一对一服务: the member of staff who looks after this customer (None: nobody)."""

    code: str
    user_email: str | None
    actor: str


@dataclass(frozen=True)
class SetPreferences:
    code: str
    preferences: dict[str, Any]
    actor: str


@dataclass(frozen=True)
class GrantModules:
    """The portal modules (domain.access.PORTAL_MODULES) a partner organisation's
    people may use; replaces the previous grant (an empty list grants none)."""

    code: str
    modules: Sequence[str]
    actor: str


@dataclass(frozen=True)
class MergeCustomer:
    """Fold a (usually provisional) customer into a real one."""

    source_code: str
    target_code: str
    actor: str


@dataclass(frozen=True)
class EraseCustomer:
    """Crypto-shred a customer's personal data (PIPL/GDPR erasure).  `reason` is
    kept readable in the history: it must name the request, not the person."""

    code: str
    reason: str
    actor: str
