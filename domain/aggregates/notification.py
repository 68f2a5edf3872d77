"""The Notification aggregate: one thing a member of staff is told (an urge on a
request they hold, a reminder that fell due), shown in the console until read
and mailed to them when the desk has an SMTP relay.

Its id derives from what caused it and whom it is for, so the policy that
makes notifications (policies.notifications) may ask twice — after a crash,
a rebuild, from another process — and one notification exists.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.ids import NAMESPACE
from domain.personal import PersonalData, fields

KINDS = ("urged", "reminder")


def notification_id(source: str, recipient: str) -> UUID:
    return uuid5(NAMESPACE, f"notification:{source}:{recipient.strip().lower()}")


class Notification(Aggregate):
    personal_data = PersonalData(
        owner=lambda n: n.customer_code,
        events={
            "Created": fields(plain="recipient kind reference customer_code source sender",
                              personal="body"),
            "Read": fields(),
            "Mailed": fields(),
            "MailFailed": fields(plain="final", personal="error"),
        },
    )

    @staticmethod
    def create_id(source: str, recipient: str, **_: object) -> UUID:
        return notification_id(source, recipient)

    @event("Created")
    def __init__(self, source: str, recipient: str, kind: str, reference: str,
                 customer_code: str, body: str, sender: str, actor: str) -> None:
        """`sender`: who urged, or who set the reminder; `body` their words."""
        self.source = source
        self.sender = sender
        self.recipient = recipient
        self.kind = kind
        self.reference = reference
        self.customer_code = customer_code
        self.body = body
        self.read = False
        self.mail = "pending"  # pending | mailed | failed

    def mark_read(self, actor: str) -> bool:
        if self.read:
            return False
        self._read(actor=actor)
        return True

    @event("Read")
    def _read(self, actor: str) -> None:
        self.read = True

    @event("Mailed")
    def mark_mailed(self, actor: str) -> None:
        self.mail = "mailed"

    @event("MailFailed")
    def mark_mail_failed(self, error: str, final: bool, actor: str) -> None:
        if final:
            self.mail = "failed"
