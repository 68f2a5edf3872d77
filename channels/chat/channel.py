"""The Telegram channel: polling or a webhook in, the Bot API out, and `ledgerdesk telegram …`.

Off without LEDGERDESK_TELEGRAM_TOKEN.  With a token and no
LEDGERDESK_TELEGRAM_WEBHOOK_URL it long-polls (one poller across processes: its
loop runs under a lock, ledgerdesk.leadership); with a webhook URL, every
process serves /channels/telegram/webhook and one registers it.
"""

from __future__ import annotations

import argparse

from starlette.routing import BaseRoute, Route

from channels.base import Channel, ChannelCommand, Loop
from channels.chat.bots import BotPool
from channels.chat.inbound import UpdateRecorder
from channels.chat.polling import Poller
from channels.chat.sender import TelegramSender
from channels.chat.settings import TelegramConfig, TelegramSettings, telegram_config
from channels.chat.state import TelegramState
from channels.chat.webhook import Webhook
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.chat_links.commands import IssueLinkCode
from domain.delivery import Sender


class TelegramChannel(Channel):
    name = "telegram"
    off_hint = "the Telegram channel is off: set LEDGERDESK_TELEGRAM_TOKEN"

    def __init__(self, app: Ledgerdesk, blobs: BlobStore, config: TelegramConfig,
                 state: TelegramState, survey_key: str = "") -> None:
        super().__init__()
        self.app = app
        self.blobs = blobs
        self.config = config
        self.state = state
        self.bots = BotPool(config)
        self.recorder = UpdateRecorder(app, blobs, state, survey_key)
        self.poller = Poller(config, self.bots, state, self.recorder)
        self.webhook = Webhook(config, self.bots, self.recorder)

    @classmethod
    def from_settings(cls, app: Ledgerdesk, blobs: BlobStore,
                      settings: TelegramSettings) -> TelegramChannel | None:
        """None when no token is set: the channel is off."""
        config = telegram_config(settings)
        if config is None:
            return None
        return cls(app, blobs, config, TelegramState.open(settings.database, settings.data_dir),
                   survey_key=settings.secret_key)

    def sender(self) -> Sender | None:
        return TelegramSender(self.config, self.bots, self.blobs, self.state)

    def loops(self) -> dict[str, Loop]:
        if self.config.mode == "webhook":
            return {"telegram-webhook": self.webhook.register}
        return {"telegram-poll": self.poller.run_forever}

    def routes(self) -> list[BaseRoute]:
        if self.config.mode != "webhook":
            return []
        return [Route("/webhook", self.webhook.receive, methods=["POST"])]

    @classmethod
    def commands(cls) -> list[ChannelCommand]:
        return [
            ChannelCommand(
                name="poll", help="fetch Telegram updates (and send the outbox)",
                configure=lambda parser: parser.add_argument(
                    "--once", action="store_true",
                    help="record what is waiting, send what is due, and exit"),
                run=TelegramChannel.poll,
            ),
            ChannelCommand(
                name="link-code", help="issue a one-time code linking a Telegram user to a "
                                       "customer (they send /start CODE to the bot)",
                configure=_configure_link_code, run=TelegramChannel.link_code,
                then_run_policies=False,
            ),
        ]

    async def poll(self, args: argparse.Namespace) -> list[str]:
        """`telegram poll --once` (without --once the CLI runs the loop under its lock)."""
        if self.config.mode == "webhook":
            return ["webhook mode: Telegram posts updates to /channels/telegram/webhook; "
                    "unset LEDGERDESK_TELEGRAM_WEBHOOK_URL to poll"]
        report = await self.poller.run_once()
        references = dict.fromkeys(o.reference for o in report.outcomes if o.reference)
        return [f"fetched {report.fetched}, recorded {report.count('recorded')}, "
                f"duplicates {report.count('duplicate')}, linked {report.count('linked')}, "
                f"refused {report.count('refused')}, ignored {report.count('ignored')}",
                *[r for r in references if r]]

    async def link_code(self, args: argparse.Namespace) -> list[str]:
        code = self.app.handle(IssueLinkCode(args.customer, actor="cli",
                                             valid_hours=args.valid_hours))
        return [code, f"send to the bot: /start {code}  (valid {args.valid_hours} h, once)"]


def _configure_link_code(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("customer", help="the customer's code")
    parser.add_argument("--valid-hours", type=int, default=24)
