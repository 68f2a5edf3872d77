"""Handlers of the reminders context."""

from __future__ import annotations

from uuid import UUID

from domain.aggregates.reminder import Reminder
from domain.commands import Handlers
from domain.errors import DomainError, NotFound, PermissionDenied, invalid
from domain.reminders.commands import CancelReminder, FireReminder, SetReminder
from domain.requests.lookup import load_request
from domain.store import Pending, Store
from domain.users.handlers import load_user
from domain.vocabulary import STAFF_ROLES

handlers = Handlers()


def load_reminder(store: Store, reminder_id: str, reference: str | None = None) -> Reminder:
    missing = f"no reminder {reminder_id!r}" + (f" on {reference}" if reference else "")
    try:
        key = UUID(reminder_id)
    except ValueError:
        raise NotFound(missing) from None
    reminder = store.get(Reminder, key)
    if reminder is None or (reference is not None and reminder.reference != reference):
        raise NotFound(missing)
    return reminder


@handlers(SetReminder)
def set_reminder(store: Store, c: SetReminder) -> str:
    note = c.note.strip()
    if not note:
        raise invalid("note", "say what the reminder is about")
    if c.at.tzinfo is None:
        raise invalid("at", "give the time with its zone")
    if c.at <= store.clock.now():
        # Valid in itself, refused for the moment it arrives: 422, not 400.
        raise DomainError("a reminder must be set for a time still to come",
                          fields={"at": "already past"})
    target = (c.for_user or c.actor).strip().lower()
    try:
        user = load_user(store, target)
    except NotFound:
        raise NotFound(f"there is no user {target!r} to remind") from None
    if not user.active or not any(role in STAFF_ROLES for role in user.roles):
        raise DomainError(f"{user.email} is not an active member of staff",
                          fields={"for": "not an active member of staff"})
    request = load_request(store, c.reference)
    reminder = Reminder(reference=request.reference, customer_code=request.customer_code,
                        for_user=user.email, at=c.at, note=note, actor=c.actor)
    store.save(Pending([reminder]))
    return str(reminder.id)


def _oversees(store: Store, email: str) -> bool:
    """Managers and admins may cancel anyone's reminder (someone left, a duty changed)."""
    try:
        return bool({"manager", "admin"} & set(load_user(store, email).roles))
    except NotFound:
        return False


@handlers(CancelReminder)
def cancel_reminder(store: Store, c: CancelReminder) -> None:
    def attempt() -> None:
        reminder = load_reminder(store, c.reminder_id, c.reference)
        if c.actor not in (reminder.set_by, reminder.for_user) and not _oversees(store, c.actor):
            raise PermissionDenied("only whoever set the reminder, its recipient or a "
                                   "manager may cancel it")
        reminder.cancel(c.actor)
        store.save(Pending([reminder]))

    store.retrying(attempt)


@handlers(FireReminder)
def fire_reminder(store: Store, c: FireReminder) -> bool:
    def attempt() -> bool:
        reminder = load_reminder(store, c.reminder_id)
        if not reminder.fire(c.at, c.actor):
            return False
        store.save(Pending([reminder]))
        return True

    return store.retrying(attempt)
