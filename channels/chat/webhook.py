"""Webhook mode: Telegram posts each update to /channels/telegram/webhook.

The route is public (Telegram calls it), so it trusts only a request carrying
the secret set with setWebhook, in the X-Telegram-Bot-Api-Secret-Token header
(compared in constant time); anything else is a 403 and records nothing.  An
update is answered 200 once recorded, or once refused by the domain (Telegram
would otherwise resend it for hours); any other failure is a 500, and Telegram
delivers the update again later, which the receipt makes harmless.

Every `serve` process serves the route; registering the webhook (setWebhook)
is a loop of its own, run by one process under its lock.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from telegram import Update

from channels.chat.bots import BotPool
from channels.chat.inbound import UpdateRecorder
from channels.chat.polling import ALLOWED_UPDATES
from channels.chat.settings import TelegramConfig
from domain.errors import DomainError

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # an update is JSON metadata; files are fetched separately


class Webhook:
    def __init__(self, config: TelegramConfig, bots: BotPool, recorder: UpdateRecorder) -> None:
        self.config = config
        self.bots = bots
        self.recorder = recorder

    async def receive(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.config.webhook_secret.encode()):
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        raw = await request.body()
        if len(raw) > MAX_UPDATE_BYTES:
            return JSONResponse({"ok": False, "error": "too large"}, status_code=413)
        try:
            data = await asyncio.to_thread(_json, raw)
            bot = await self.bots.get()
            update = Update.de_json(data, bot)
        except (ValueError, TypeError, KeyError):
            return JSONResponse({"ok": False, "error": "not an update"}, status_code=400)
        try:
            outcome = await self.recorder.record(update, bot)
        except DomainError as error:
            log.warning("Telegram update %d refused: %s", update.update_id, error.message)
            return JSONResponse({"ok": True, "outcome": "refused"})
        except Exception:
            log.exception("recording Telegram update %d failed", update.update_id)
            return JSONResponse({"ok": False, "error": "try again"}, status_code=500)
        return JSONResponse({"ok": True, "outcome": outcome.kind})

    async def register(self, stop: asyncio.Event) -> None:
        """Tell Telegram where to post (with the secret), then hold the lock until
        stopped; retried with a pause while Telegram cannot be reached."""
        pause = self.config.reconnect_initial
        while not stop.is_set():
            try:
                bot = await self.bots.get()
                await bot.set_webhook(self.config.webhook_url,
                                      secret_token=self.config.webhook_secret,
                                      allowed_updates=list(ALLOWED_UPDATES))
                log.info("Telegram webhook set to %s", self.config.webhook_url)
                await stop.wait()
                return
            except Exception as error:
                log.warning("setting the Telegram webhook failed (%s); retrying in %.0f s",
                            error, pause)
                try:
                    await asyncio.wait_for(stop.wait(), pause)
                except TimeoutError:
                    pause = min(pause * 2, self.config.reconnect_max)


def _json(raw: bytes) -> dict[str, object]:
    data = json.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise ValueError("not an update")
    return data
