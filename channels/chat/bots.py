"""One python-telegram-bot `Bot` per event loop.

A Bot holds an httpx client, which belongs to the event loop it was opened on.
The poller, the webhook route (uvicorn's loop), the delivery policy and a CLI
command may each run on a loop of their own, so each loop gets its own Bot,
opened on first use and pointed at the configured Bot API server (its method
URL and its file URL; see channels.chat.settings).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref

from telegram import Bot
from telegram.request import HTTPXRequest

from channels.chat.settings import TelegramConfig


class BotPool:
    def __init__(self, config: TelegramConfig) -> None:
        self.config = config
        self._bots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Bot] = (
            weakref.WeakKeyDictionary())

    def make(self, read_timeout: float | None = None) -> Bot:
        """A new, unopened Bot; `read_timeout` for long polling (longer than its wait)."""
        request = HTTPXRequest(connection_pool_size=8, read_timeout=read_timeout or 30.0,
                               connect_timeout=10.0, write_timeout=30.0, media_write_timeout=60.0)
        return Bot(self.config.token, base_url=self.config.api_url,
                   base_file_url=self.config.base_file_url, request=request,
                   get_updates_request=HTTPXRequest(
                       read_timeout=self.config.poll_timeout + 10.0, connect_timeout=10.0))

    async def get(self) -> Bot:
        loop = asyncio.get_running_loop()
        bot = self._bots.get(loop)
        if bot is None:
            bot = self.make()
            # initialize() opens the clients and asks getMe (the bot's own id and name).
            await bot.initialize()
            self._bots[loop] = bot
        return bot

    async def close(self) -> None:
        """Close this loop's Bot (the others close with their loops)."""
        bot = self._bots.pop(asyncio.get_running_loop(), None)
        if bot is not None:
            with contextlib.suppress(Exception):
                await bot.shutdown()
