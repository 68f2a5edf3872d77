"""Commands of the reminders context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

TIMER_ACTOR = "system:reminders"


@dataclass(frozen=True)
class SetReminder:
    """`for_user`: a member of staff's email; None is the actor themself."""

    reference: str
    at: datetime
    note: str
    actor: str
    for_user: str | None = None


@dataclass(frozen=True)
class CancelReminder:
    reference: str
    reminder_id: str
    actor: str


@dataclass(frozen=True)
class FireReminder:
    reminder_id: str
    at: datetime
    actor: str = TIMER_ACTOR
