"""Notifications for staff: who is told what, and the mail that tells them.

`NotificationPolicy` is a tracked consumer of the log: an urge (催办) notifies
the request's assignee, or every member of its team when it has none; a
reminder that fired notifies its recipient.  Each Notify names its cause (the
event's id and version), so replaying makes nothing twice.

`NotificationMailer` works through the notifications view's mail queue with
the desk's plain notification mail (channels.email.notify, handed in by the
composition root as `send_mail(to, subject, body)`; absent without SMTP), and
records each outcome on the notification.  At least once, like the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from domain.aggregates.reminder import Reminder
from domain.aggregates.service_request import ServiceRequest as SR
from domain.application import Ledgerdesk
from domain.delivery import MAX_ATTEMPTS
from domain.errors import DomainError
from domain.notifications.commands import Notify, RecordNotificationMail
from domain.notifications.handlers import load_notification
from domain.reminders.handlers import load_reminder
from domain.teams.handlers import load_team
from projections.notifications import mail_due
from projections.storage import ViewStorage
from projections.view import Db, View, handles

log = logging.getLogger(__name__)

SendMail = Callable[[str, str, str], Awaitable[None]]
SUBJECTS = {"urged": "催办 / Urged", "reminder": "预约提示 / Reminder"}


class NotificationPolicy(View):
    name = "notification_policy"

    def __init__(self, app: Ledgerdesk) -> None:
        self.app = app

    def _notify(self, e: Any, recipients: list[str], kind: str, reference: str,
                body: str, sender: str) -> None:
        source = f"{e.originator_id}:{e.originator_version}"
        for recipient in dict.fromkeys(recipients):
            try:
                self.app.handle(Notify(source, recipient, kind, reference, body, sender))
            except DomainError as error:
                log.info("no %s notification for %s on %s: %s", kind, recipient, reference,
                         error)

    @handles(SR.Urged)
    def urged(self, db: Db, e: Any, position: Any) -> None:
        reference = self.app.store.get(SR, e.originator_id)
        if reference is None:
            return
        recipients = [e.assignee] if e.assignee else []
        if not recipients and e.team:
            try:
                recipients = list(load_team(self.app.store, e.team).members)
            except DomainError:
                recipients = []
        self._notify(e, recipients, "urged", reference.reference, e.message, e.actor)

    @handles(Reminder.Fired)
    def reminder(self, db: Db, e: Any, position: Any) -> None:
        try:
            reminder = load_reminder(self.app.store, str(e.originator_id))
        except DomainError:
            return
        self._notify(e, [reminder.for_user], "reminder", reminder.reference, reminder.note,
                     reminder.set_by)


class NotificationMailer:
    def __init__(self, app: Ledgerdesk, notifications: ViewStorage, send_mail: SendMail,
                 public_url: str = "", poll_interval: float = 2.0) -> None:
        self.app = app
        self.notifications = notifications
        self.send_mail = send_mail
        self.public_url = public_url.rstrip("/")
        self.poll_interval = poll_interval

    async def run_once(self, now: datetime | None = None) -> int:
        moment = now or self.app.clock.now()
        due = await asyncio.to_thread(mail_due, self.notifications, moment)
        sent = 0
        for row in due:
            sent += await self._mail(row)
        return sent

    async def _mail(self, row: dict[str, Any]) -> bool:
        key = row["notification_id"]
        notification = await asyncio.to_thread(load_notification, self.app.store, key)
        if notification.mail != "pending":
            return False  # the view lags behind an outcome already recorded
        subject = f"[{row['reference']}] {SUBJECTS.get(row['kind'], row['kind'])}"
        body = (f"{SUBJECTS.get(row['kind'], row['kind'])} · {row['reference']}\n"
                f"{notification.sender}: {notification.body}")
        if self.public_url:
            body += f"\n\n{self.public_url}/console/requests/{row['reference']}"
        try:
            await self.send_mail(notification.recipient, subject, body)
        except Exception as error:  # a refused or unreachable relay: try again later
            final = int(row["mail_attempts"]) + 1 >= MAX_ATTEMPTS
            log.warning("mailing notification %s failed: %s", key, error)
            await asyncio.to_thread(self.app.handle, RecordNotificationMail(
                key, sent=False, error=f"{type(error).__name__}: {error}", final=final))
            return False
        await asyncio.to_thread(self.app.handle, RecordNotificationMail(key, sent=True))
        return True

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("the notification mailer failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_interval)
