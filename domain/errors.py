"""Errors a command can raise.  Each carries a message a person can act on.

The HTTP layer maps them to status codes (400/404/409/422) and the CLI prints
the message; neither needs to know which command raised it.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused; nothing was written."""

    code = "refused"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidInput(DomainError):
    """A value is missing or not acceptable; `fields` names which."""

    code = "invalid"


class NotFound(DomainError):
    """An unknown reference, code or email."""

    code = "not_found"


class AlreadyExists(DomainError):
    """Something that must be unique exists already (customer code, user email...)."""

    code = "already_exists"


class InvalidTransition(DomainError):
    """The aggregate's current state does not allow this command."""

    code = "invalid_state"


class ConcurrentChange(DomainError):
    """Someone else changed the same record first and retrying did not help."""

    code = "conflict"


class CustomerWasErased(DomainError):
    """The customer's personal data was erased: nothing more is recorded for them."""

    code = "gone"


class PermissionDenied(DomainError):
    """The actor may not do this."""

    code = "forbidden"


def invalid(field: str, message: str) -> InvalidInput:
    """Shorthand for the common one-field validation error."""
    return InvalidInput(message, fields={field: message})


class Unauthenticated(DomainError):
    """No credentials, or credentials nobody recognises."""

    code = "unauthenticated"
