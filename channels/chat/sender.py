"""The Telegram channel's `Sender`: one outbound message through the Bot API.

A reply goes to the chat of the customer's latest Telegram message (the outbox
carries its chat id; in a private chat that is the user id, the request's
`last_sender`) and answers that message (reply_to_message, sent even when the
message is gone).  Text longer than the Bot API's 4,096 characters is split,
at a paragraph or line break when there is one; attachments follow as photos
(pictures the Bot API takes as such) or documents.

Failures: a 429 is waited out when it asks for a short pause (up to
`max_inline_wait`), else the attempt fails and the outbox schedule retries; a
user who blocked the bot (403) or a chat that is gone ("chat not found") is a
final failure, which the inbox lists as delivery_failed; a network error or a
timeout is retried.  Each part sent is remembered (channels.chat.state), so a
retry after a partial failure sends only what did not go out, and a customer's
reply to any part threads to the request.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ReplyParameters
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)

from channels.chat.bots import BotPool
from channels.chat.settings import MAX_TEXT, TelegramConfig
from channels.chat.state import TelegramState
from domain.blobstore import BlobStore
from domain.delivery import DeliveryError, Outbound

log = logging.getLogger(__name__)

PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_PHOTO = 10 * 1024 * 1024  # sendPhoto's limit; larger pictures go as documents
INLINE_RETRIES = 3


class TelegramSender:
    channel = "telegram"

    def __init__(self, config: TelegramConfig, bots: BotPool, blobs: BlobStore,
                 state: TelegramState) -> None:
        self.config = config
        self.bots = bots
        self.blobs = blobs
        self.state = state

    async def send(self, message: Outbound) -> str:
        chat_id = message.thread.get("chat_id") or message.recipient
        if not chat_id:
            raise DeliveryError(f"customer {message.customer_code} has no Telegram chat",
                                final=True)
        bot = await self.bots.get()
        answered = _message_id(message.thread.get("external_id"))
        parts: list[tuple[str, Any]] = [("text", chunk) for chunk in split_text(message.body)]
        parts += [("file", attachment) for attachment in message.attachments]
        if message.buttons:  # a survey's scores, under its last piece of text
            last = max(i for i, (kind, _) in enumerate(parts) if kind == "text")
            parts[last] = ("text", (parts[last][1], InlineKeyboardMarkup(
                [[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                 for row in message.buttons])))
        first: int | None = None
        for index, (kind, payload) in enumerate(parts):
            sent = await asyncio.to_thread(self.state.sent_part, message.reply_id, index)
            if sent is None:
                reply = ReplyParameters(answered, allow_sending_without_reply=True) \
                    if answered is not None and index == 0 else None
                sent = await self._with_retries(bot, chat_id, kind, payload, reply)
                await asyncio.to_thread(self.state.remember_sent, chat_id, sent,
                                        message.reference, message.reply_id, index)
            first = first if first is not None else sent
        return f"{chat_id}:{first}"

    async def _with_retries(self, bot: Bot, chat_id: Any, kind: str, payload: Any,
                            reply: ReplyParameters | None) -> int:
        for attempt in range(INLINE_RETRIES + 1):
            try:
                return await self._send_part(bot, chat_id, kind, payload, reply)
            except RetryAfter as error:
                wait = _retry_after(error)
                if wait > self.config.max_inline_wait or attempt == INLINE_RETRIES:
                    raise DeliveryError(f"Telegram asks to wait {wait:.0f} s (429)") from error
                log.info("Telegram answered 429; waiting %.1f s", wait)
                await asyncio.sleep(wait)
            except Forbidden as error:
                raise DeliveryError(f"Telegram refused: {error.message} (403)",
                                    final=True) from error
            except ChatMigrated as error:
                # A group became a supergroup; private chats never do.
                raise DeliveryError(f"the chat moved to {error.new_chat_id}",
                                    final=True) from error
            except BadRequest as error:
                # "chat not found", "user is deactivated", a malformed request: sending
                # the same thing again cannot succeed.
                raise DeliveryError(f"Telegram refused: {error.message} (400)",
                                    final=True) from error
            except InvalidToken as error:
                raise DeliveryError("the bot token was refused (LEDGERDESK_TELEGRAM_TOKEN)"
                                    ) from error
            except TelegramError as error:  # network errors, timeouts, 5xx
                raise DeliveryError(f"{type(error).__name__}: {error.message}") from error
        raise AssertionError("unreachable")

    async def _send_part(self, bot: Bot, chat_id: Any, kind: str, payload: Any,
                         reply: ReplyParameters | None) -> int:
        if kind == "text":
            text, markup = payload if isinstance(payload, tuple) else (payload, None)
            sent = await bot.send_message(chat_id, text, reply_parameters=reply,
                                          reply_markup=markup)
            return sent.message_id
        data = await asyncio.to_thread(self.blobs.get, payload)
        filename = str(payload.get("filename") or "attachment")
        content_type = str(payload.get("content_type") or "application/octet-stream")
        upload = InputFile(data, filename=filename)
        if content_type in PHOTO_TYPES and len(data) <= MAX_PHOTO:
            sent = await bot.send_photo(chat_id, upload, reply_parameters=reply)
        else:
            sent = await bot.send_document(chat_id, upload, reply_parameters=reply)
        return sent.message_id


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` in pieces of at most `limit` UTF-16 code units (what the Bot API
    counts: an emoji outside the BMP is two), cut at the last paragraph break,
    else line break, else space in the second half of a piece; else anywhere."""
    pieces: list[str] = []
    rest = text
    while _units(rest) > limit:
        cut = _prefix_fitting(rest, limit)
        window = rest[:cut]
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator)
            if at >= cut // 2:
                cut = at + len(separator)
                break
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix_fitting(text: str, limit: int) -> int:
    """The longest prefix (in characters) of at most `limit` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _message_id(external_id: Any) -> int | None:
    """Our receipt key "chat:message[:edit:…]" → the message id."""
    parts = str(external_id or "").split(":")
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


def _retry_after(error: RetryAfter) -> float:
    """Seconds to wait, whichever type this version of the library gives it
    (an int, or a timedelta once PTB_TIMEDELTA is on; reading it warns in 22.x)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        retry_after = error.retry_after
    if isinstance(retry_after, timedelta):
        return retry_after.total_seconds()
    return float(retry_after)
