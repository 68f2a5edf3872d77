"""Everything that runs beside the write side: read models, policies and background jobs.

`serve`, `projections run` and the channels' CLI commands all assemble it
here.  The projections run in every process (their tracking makes that safe);
each channel loop and each policy runs under `Leadership`, so exactly one
process runs it at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.email.notify import notifier
from channels.web.chat_sender import ChatSender
from ledgerdesk.bootstrap import Services
from ledgerdesk.leadership import Job, Leadership
from policies.acknowledge import AcknowledgementPolicy
from policies.complaints import ComplaintIntake, ComplaintTimers
from policies.delivery import DeliveryPolicy
from policies.notifications import NotificationMailer, NotificationPolicy
from policies.reminder_timers import ReminderTimers
from policies.sla_timers import SlaTimers
from policies.survey import SurveyPolicy, survey_senders
from projections.access_log import AccessLog, open_access_log
from projections.chat_presence import ChatPresence
from projections.registry import ReadModels, open_read_models, open_views
from projections.runner import Projector

log = logging.getLogger(__name__)

POLICY_INTERVAL = 0.5  # seconds between looks at the log for the event-driven policies


class Runtime:
    def __init__(self, services: Services, leadership_retry: float = 2.0) -> None:
        self.services = services
        settings = services.settings
        self.models: ReadModels = open_read_models(settings, services.app)
        # Who read whose data (projections.access_log): kept apart from the views,
        # which a rebuild drops.
        self.access_log: AccessLog = open_access_log(settings.data_dir, self.models.datastore)
        chat = services.senders.get("chat")
        if isinstance(chat, ChatSender):
            chat.presence = ChatPresence(self.access_log.transactions)
        own = [a for channel in services.channels for a in channel.own_addresses]
        self.acknowledgements = AcknowledgementPolicy(services.app, own_addresses=own)
        self.surveys = SurveyPolicy(services.app)
        # Complaint records for complaint requests; notifications for urges and reminders.
        self.tracked = [ComplaintIntake(services.app), NotificationPolicy(services.app)]
        self.policy_models = open_views(settings, services.app,
                                        [self.acknowledgements, self.surveys, *self.tracked])
        # Surveys get their signed links and buttons as they are sent (policies.survey).
        senders = survey_senders(services.senders, settings.secret_key, settings.public_url)
        self.delivery = DeliveryPolicy(services.app, self.models["outbox"], senders)
        self.leadership = Leadership(settings.database, settings.data_dir, leadership_retry)
        # SLA warnings, breaches, the hand-over and escalation deadlines (policies.sla_timers).
        self.sla_timers = SlaTimers(services.app, self.models["inbox"], settings.sla)
        self.complaint_timers = ComplaintTimers(services.app, self.models["complaints"])
        self.reminder_timers = ReminderTimers(services.app, self.models["reminders"])
        # Staff notifications by mail only when there is a relay.
        send_mail = notifier(settings.smtp, settings.mail_from)
        self.mailer = NotificationMailer(services.app, self.models["notifications"], send_mail,
                                         settings.public_url) if send_mail else None

    def jobs(self) -> dict[str, Job]:
        jobs: dict[str, Job] = {}
        for channel in self.services.channels:
            jobs.update(channel.loops())
        jobs["acknowledgements"] = self._tracked_forever(
            self.policy_models.projector(AcknowledgementPolicy.name))
        jobs["surveys"] = self._tracked_forever(self.policy_models.projector(SurveyPolicy.name))
        jobs["delivery"] = self.delivery.run_forever
        jobs["sla_timers"] = self.sla_timers.run_forever
        for policy in self.tracked:
            jobs[policy.name] = self._tracked_forever(self.policy_models.projector(policy.name))
        jobs["complaint_timers"] = self.complaint_timers.run_forever
        jobs["reminder_timers"] = self.reminder_timers.run_forever
        if self.mailer is not None:
            jobs["notification_mail"] = self.mailer.run_forever
        return jobs

    async def run_jobs(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as group:
            for name, job in self.jobs().items():
                group.create_task(self.leadership.run(name, job, stop))

    async def policies_once(self) -> int:
        """One pass of every policy, for a CLI command that recorded something:
        acknowledge what is new, bring the outbox up to date, send what is due."""
        await asyncio.to_thread(self.policy_models.projector(AcknowledgementPolicy.name).catch_up)
        await asyncio.to_thread(self.policy_models.projector(SurveyPolicy.name).catch_up)
        await asyncio.to_thread(self.models.projector("outbox").catch_up)
        return await self.delivery.run_once()

    def _tracked_forever(self, projector: Projector) -> Job:
        async def run(stop: asyncio.Event) -> None:
            while not stop.is_set():
                try:
                    await asyncio.to_thread(projector.catch_up)
                except Exception:  # logged and tried again: one bad batch must not end it
                    log.exception("the %s policy failed", projector.name)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), POLICY_INTERVAL)

        return run

    def close(self) -> None:
        self.access_log.close()
        self.models.close()
        self.policy_models.close()
