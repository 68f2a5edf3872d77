"""Handlers of the notifications context."""

from __future__ import annotations

from uuid import UUID

from domain.aggregates.notification import KINDS, Notification, notification_id
from domain.commands import Handlers
from domain.errors import AlreadyExists, NotFound
from domain.notifications.commands import MarkNotificationRead, Notify, RecordNotificationMail
from domain.requests.lookup import load_request
from domain.store import Pending, Store
from domain.vocabulary import require_one_of

handlers = Handlers()


def load_notification(store: Store, key: str) -> Notification:
    try:
        found = store.get(Notification, UUID(key))
    except ValueError:
        found = None
    if found is None:
        raise NotFound(f"no notification {key!r}")
    return found


@handlers(Notify)
def notify(store: Store, c: Notify) -> bool:
    """True when made; False when it exists already (asked twice)."""
    require_one_of(c.kind, KINDS, "kind")
    key = notification_id(c.source, c.recipient)
    if store.get(Notification, key) is not None:
        return False
    request = load_request(store, c.reference)
    notification = Notification(source=c.source, recipient=c.recipient.strip().lower(),
                                kind=c.kind, reference=request.reference,
                                customer_code=request.customer_code, body=c.body,
                                sender=c.sender, actor=c.actor)
    try:
        store.create(Pending([notification]), "exists")
    except AlreadyExists:  # made by another process meanwhile
        return False
    return True


@handlers(MarkNotificationRead)
def mark_read(store: Store, c: MarkNotificationRead) -> bool:
    def attempt() -> bool:
        notification = load_notification(store, c.notification_id)
        if notification.recipient != c.actor.strip().lower():
            # Somebody else's looks like nobody's.
            raise NotFound(f"no notification {c.notification_id!r}")
        changed = notification.mark_read(c.actor)
        if changed:
            store.save(Pending([notification]))
        return changed

    return store.retrying(attempt)


@handlers(RecordNotificationMail)
def record_mail(store: Store, c: RecordNotificationMail) -> bool:
    def attempt() -> bool:
        notification = load_notification(store, c.notification_id)
        if notification.mail != "pending":
            return False
        if c.sent:
            notification.mark_mailed(c.actor)
        else:
            notification.mark_mail_failed(c.error[:500], c.final, c.actor)
        store.save(Pending([notification]))
        return True

    return store.retrying(attempt)
