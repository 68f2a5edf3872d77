"""Who is calling, and what they may see."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from domain.application import Ledgerdesk
from domain.errors import DomainError, NotFound, PermissionDenied
from domain.vocabulary import CUSTOMER_ROLES, STAFF_ROLES


class Unauthenticated(DomainError):
    code = "unauthenticated"


@dataclass(frozen=True)
class Principal:
    email: str
    roles: tuple[str, ...]
    customer_code: str | None

    @property
    def is_staff(self) -> bool:
        return any(role in STAFF_ROLES for role in self.roles)

    @property
    def is_auditor(self) -> bool:
        return "auditor" in self.roles

    @property
    def is_customer_side(self) -> bool:
        """Customers and partners: they see only their own organisation."""
        return not self.is_staff and not self.is_auditor and any(
            role in CUSTOMER_ROLES for role in self.roles
        )

    def require_staff_reader(self) -> None:
        """Inbox, audit: staff and auditors only."""
        if not (self.is_staff or self.is_auditor):
            raise PermissionDenied("this is for staff and auditors only")

    def require_writer(self) -> None:
        """Auditors read everything and change nothing."""
        if self.is_auditor and not self.is_staff:
            raise PermissionDenied("auditors cannot change anything")

    def require_staff(self) -> None:
        if not self.is_staff:
            raise PermissionDenied("only staff can do this")

    def require_customer_visible(self, customer_code: str | None, what: str) -> None:
        """A foreign reference is 404, exactly like an unknown one: its existence
        is not something a customer of another organisation may learn."""
        if self.is_customer_side and customer_code != self.customer_code:
            raise NotFound(f"no {what}")


def principal_from(request: Request, app: Ledgerdesk) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <token>")
    try:
        user = app.authenticate_token(token.strip())
    except PermissionDenied as e:
        raise Unauthenticated(e.message) from None
    return Principal(user.email, tuple(user.roles), user.customer_code)
