"""The Telegram channel's settings, from LEDGERDESK_TELEGRAM_* (ledgerdesk.config).

`LEDGERDESK_TELEGRAM_BASE_URL` points the bot at another Bot API server (a
local `telegram-bot-api`, or the tests' stand-in).  python-telegram-bot takes
two URLs, one for methods and one for file downloads; only the first is
configurable here, so the second is derived from it: without that, files would
still be fetched from Telegram's own servers, which a local server's files are
not on (and which an air-gapped desk cannot reach).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from channels.base import ChannelConfigError
from projections.registry import DatabaseLocation

TELEGRAM_API = "https://api.telegram.org/bot"
# The Bot API's own limits.
MAX_TEXT = 4096  # characters (UTF-16 code units) per message
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile serves files up to 20 MB


# What the channel needs of the store's location: the views' own description of it.
DatabaseLike = DatabaseLocation


class TelegramSettings(Protocol):
    """What the channel reads of ledgerdesk.config.Settings (channels do not import it)."""

    @property
    def telegram_token(self) -> str: ...
    @property
    def telegram_base_url(self) -> str: ...
    @property
    def telegram_webhook_url(self) -> str: ...
    @property
    def telegram_webhook_secret(self) -> str: ...
    @property
    def database(self) -> DatabaseLike: ...
    @property
    def data_dir(self) -> Path: ...
    @property
    def secret_key(self) -> str: ...  # signs and checks survey buttons (domain.survey_links)


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    base_url: str = TELEGRAM_API
    webhook_url: str = ""
    webhook_secret: str = ""
    poll_timeout: int = 25  # seconds a getUpdates call waits for news (long polling)
    poll_limit: int = 100
    reconnect_initial: float = 1.0
    reconnect_max: float = 60.0
    # A 429 asking to wait at most this long is waited out inside one delivery
    # attempt; longer, and the attempt fails and the outbox schedule retries.
    max_inline_wait: float = 30.0

    @property
    def api_url(self) -> str:
        """What python-telegram-bot appends the token to: always ends in `/bot`."""
        return api_url_of(self.base_url)

    @property
    def base_file_url(self) -> str:
        return file_url_of(self.base_url)

    @property
    def bot_id(self) -> str:
        """The token's public part (the bot's user id): names the bot's polling offset."""
        return self.token.split(":", 1)[0]

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url else "polling"


def telegram_config(settings: TelegramSettings) -> TelegramConfig | None:
    """None when no token is set: the channel is off."""
    token = settings.telegram_token.strip()
    if not token:
        return None
    if ":" not in token:
        raise ChannelConfigError("LEDGERDESK_TELEGRAM_TOKEN looks wrong: a bot token is "
                                 "<bot id>:<secret>, as BotFather gives it")
    base_url = settings.telegram_base_url.strip() or TELEGRAM_API
    if not base_url.startswith(("http://", "https://")):
        raise ChannelConfigError(f"LEDGERDESK_TELEGRAM_BASE_URL must be an http(s) URL, "
                                 f"not {base_url!r}")
    webhook_url = settings.telegram_webhook_url.strip()
    secret = settings.telegram_webhook_secret.strip()
    if webhook_url:
        if not webhook_url.startswith("https://") and not webhook_url.startswith("http://"):
            raise ChannelConfigError("LEDGERDESK_TELEGRAM_WEBHOOK_URL must be an https URL")
        if not secret:
            # Without it anyone who finds the URL can post updates as any customer.
            raise ChannelConfigError("LEDGERDESK_TELEGRAM_WEBHOOK_SECRET must be set "
                                     "with LEDGERDESK_TELEGRAM_WEBHOOK_URL")
        if not _valid_secret(secret):
            raise ChannelConfigError("LEDGERDESK_TELEGRAM_WEBHOOK_SECRET: 1 to 256 characters "
                                     "of A-Z, a-z, 0-9, _ and - (the Bot API's rule)")
    return TelegramConfig(token=token, base_url=base_url, webhook_url=webhook_url,
                          webhook_secret=secret)


def api_url_of(base_url: str) -> str:
    """`http://host:8081`, `…/bot` and `…/bot/` all mean `…/bot`."""
    trimmed = base_url.rstrip("/")
    return trimmed if trimmed.endswith("/bot") else trimmed + "/bot"


def file_url_of(base_url: str) -> str:
    """`…/bot` → `…/file/bot`: the Bot API serves files beside its methods."""
    return api_url_of(base_url)[: -len("/bot")] + "/file/bot"


def _valid_secret(secret: str) -> bool:
    return 0 < len(secret) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-")
                                          for c in secret)
