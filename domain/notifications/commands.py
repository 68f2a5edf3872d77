"""Commands of the notifications context."""

from __future__ import annotations

from dataclasses import dataclass

NOTIFY_ACTOR = "system:notifications"


@dataclass(frozen=True)
class Notify:
    """Tell `recipient` about `reference`.  `source`: what caused it (an event's
    id and version), which makes the notification's id."""

    source: str
    recipient: str
    kind: str
    reference: str
    body: str
    sender: str
    actor: str = NOTIFY_ACTOR


@dataclass(frozen=True)
class MarkNotificationRead:
    notification_id: str
    actor: str


@dataclass(frozen=True)
class RecordNotificationMail:
    """The mailer's outcome: sent, or failed (`final`: no more attempts)."""

    notification_id: str
    sent: bool
    error: str = ""
    final: bool = False
    actor: str = NOTIFY_ACTOR
