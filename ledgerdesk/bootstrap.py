"""The composition root: builds the application, its channels and its senders from settings.

Entry points (CLI, ASGI app, benchmarks, tests) call `bootstrap()` and nothing
below it knows where its collaborators came from.  A new channel is one line
in `CHANNELS`.  Read models, policies and the background jobs are assembled on
top of this by `ledgerdesk.runtime`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from channels.base import Channel, ChannelConfigError
from channels.chat.channel import TelegramChannel
from channels.email.channel import EmailChannel
from channels.fax_ocr.channel import FaxChannel
from channels.web.chat_sender import ChatSender
from channels.web.portal_sender import PortalSender
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.clock import Clock
from domain.delivery import Sender
from domain.errors import NotFound
from domain.requests.routing import first_identity
from ledgerdesk.config import ConfigError, Settings, load_settings
from ledgerdesk.persistence import event_store_env

ChannelFactory = Callable[[Ledgerdesk, BlobStore, Settings], Channel | None]

# The channel types, for their CLI commands, and how each is built when configured.
CHANNEL_TYPES: tuple[type[Channel], ...] = (EmailChannel, TelegramChannel, FaxChannel)
CHANNELS: tuple[ChannelFactory, ...] = (
    lambda app, blobs, s: EmailChannel.from_settings(app, blobs, s.imap, s.smtp, s.mail_from),
    lambda app, blobs, s: TelegramChannel.from_settings(app, blobs, s),
    lambda app, blobs, s: FaxChannel(app, blobs, s.ocr_langs, s.fax_inbox,
                                     tuple(s.fax_gateway_from.split(","))),
)


@dataclass
class Services:
    settings: Settings
    app: Ledgerdesk
    blobs: BlobStore
    channels: list[Channel] = field(default_factory=list)
    senders: dict[str, Sender] = field(default_factory=dict)

    def channel(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)

    def close(self) -> None:
        self.app.close()


def _email_of(app: Ledgerdesk, code: str) -> str | None:
    try:
        return first_identity(app.customer(code), "email")
    except NotFound:
        return None


def bootstrap(settings: Settings | None = None, clock: Clock | None = None) -> Services:
    settings = settings or load_settings()
    app = Ledgerdesk(env=event_store_env(settings.database, settings.master_key), clock=clock,
                     routing=settings.routing)
    blobs = BlobStore(settings.blob_dir, max_bytes=settings.max_upload_bytes)
    try:
        channels = [c for make in CHANNELS if (c := make(app, blobs, settings)) is not None]
    except ChannelConfigError as error:
        app.close()
        raise ConfigError(str(error)) from None
    email, fax = (next((c for c in channels if c.name == n), None) for n in ("email", "fax"))
    if isinstance(email, EmailChannel) and isinstance(fax, FaxChannel):
        email.fax_mail = fax.mail_hook  # fax-to-mail gateways' messages become faxes
    senders: dict[str, Sender] = {"web": PortalSender()}
    for channel in channels:
        sender = channel.sender()
        if sender is not None:
            senders[sender.channel] = sender
    # The web chat: to the open panel, else by email (its presence is attached by
    # the runtime, which has the shared store it lives in).
    senders["chat"] = ChatSender(senders.get("email"), lambda code: _email_of(app, code))
    # A reply is accepted only on a channel that can deliver it (domain.requests.routing).
    app.store.reply_channels = frozenset(senders)
    app.store.settings["complaints"] = settings.complaints
    return Services(settings, app, blobs, channels, senders)
