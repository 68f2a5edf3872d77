"""The email channel: IMAP ingest in, SMTP out, and `ledgerdesk email poll`."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from email.utils import parseaddr

from channels.base import Channel, ChannelCommand, ChannelConfigError, Loop
from channels.email.ingest import MailIngest
from channels.email.recorder import FaxMailHook
from channels.email.sender import SmtpSender
from channels.email.settings import ImapConfig, SmtpConfig, imap_config
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.delivery import Sender


class EmailChannel(Channel):
    name = "email"
    off_hint = "email ingest is off: set LEDGERDESK_IMAP_HOST"

    def __init__(
        self,
        app: Ledgerdesk,
        blobs: BlobStore,
        imap: ImapConfig | None,
        smtp: SmtpConfig | None,
        mail_from: str,
    ) -> None:
        super().__init__(own_addresses=(parseaddr(mail_from)[1].lower(),))
        self.app = app
        self.blobs = blobs
        self.imap = imap
        self.smtp = smtp
        self.mail_from = mail_from
        # Set by the composition root when the fax channel takes fax-to-mail gateways' mail.
        self.fax_mail: FaxMailHook | None = None

    @classmethod
    def from_settings(
        cls, app: Ledgerdesk, blobs: BlobStore, imap: Mapping[str, str],
        smtp: Mapping[str, str], mail_from: str,
    ) -> EmailChannel | None:
        """None when neither IMAP nor SMTP is configured: the channel is off."""
        if not imap.get("host") and not smtp.get("host"):
            return None
        try:
            smtp_config = SmtpConfig.from_settings(smtp) if smtp.get("host") else None
        except KeyError as error:
            raise ChannelConfigError(str(error)) from None
        imap_settings = imap_config(imap) if imap.get("host") else None
        return cls(app, blobs, imap_settings, smtp_config, mail_from)

    def sender(self) -> Sender | None:
        return SmtpSender(self.blobs, self.smtp, self.mail_from) if self.smtp else None

    def ingest(self) -> MailIngest:
        if self.imap is None:
            raise ChannelConfigError(self.off_hint)
        ingest = MailIngest(self.app, self.blobs, self.imap, self.mail_from)
        ingest.recorder.fax_mail = self.fax_mail
        return ingest

    def loops(self) -> dict[str, Loop]:
        return {"email-ingest": self.ingest().run_forever} if self.imap else {}

    @classmethod
    def commands(cls) -> list[ChannelCommand]:
        return [ChannelCommand(
            name="poll", help="ingest the IMAP mailbox (and send the outbox)",
            configure=lambda parser: parser.add_argument(
                "--once", action="store_true",
                help="ingest what is there, send what is due, and exit"),
            run=EmailChannel.poll, then_run_policies=True,
        )]

    async def poll(self, args: argparse.Namespace) -> list[str]:
        """`email poll --once`: what is in the mailbox now (the CLI runs the loop
        itself, under its lock, without --once)."""
        report = await self.ingest().run_once()
        return [f"fetched {report.fetched}, recorded {report.recorded}, "
                f"duplicates {report.duplicates}, unreadable {report.malformed}",
                *report.references]
