"""The Reminder aggregate (预约提示, seed 003: "可以对重要事件设置预约时间、主题和提醒的对象,
到时候就会有邮件通知"): a note on a request, for a member of staff, at a time.

set → fired | cancelled.  Firing is the timer's (policies.reminder_timers);
it records once however often it is asked, from however many processes: the
second save of the same version is refused by the event store.
"""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition
from domain.personal import PersonalData, fields


class Reminder(Aggregate):
    personal_data = PersonalData(
        owner=lambda reminder: reminder.customer_code,
        events={
            "Set": fields(plain="reference customer_code for_user at", personal="note"),
            "Cancelled": fields(),
            "Fired": fields(plain="at"),
        },
    )

    @event("Set")
    def __init__(self, reference: str, customer_code: str, for_user: str, at: datetime,
                 note: str, actor: str) -> None:
        self.reference = reference
        self.customer_code = customer_code
        self.for_user = for_user
        self.at = at
        self.note = note
        self.set_by = actor
        self.state = "set"

    def cancel(self, actor: str) -> None:
        if self.state != "set":
            raise InvalidTransition(f"this reminder on {self.reference} is {self.state}: "
                                    "only a pending reminder can be cancelled")
        self._cancelled(actor=actor)

    @event("Cancelled")
    def _cancelled(self, actor: str) -> None:
        self.state = "cancelled"

    def fire(self, at: datetime, actor: str) -> bool:
        """False when cancelled, fired before, or moved to another time."""
        if self.state != "set" or self.at != at:
            return False
        self._fired(at=at, actor=actor)
        return True

    @event("Fired")
    def _fired(self, at: datetime, actor: str) -> None:
        self.state = "fired"
