"""One Telegram update in, at most one command out.

What the bot receives becomes the same commands every channel builds: a
message is a RecordInbound (idempotent by chat id and message id, so an update
delivered twice, by a restarted poller or a retried webhook, is recorded once);
`/start CODE` redeems a one-time link code; a contact the user shares of
themselves links them to the customer with that phone number, and is recorded
too, since an agent should see it.  Files (photos at their largest size,
documents, voice notes, videos) are fetched through getFile into the blob store
before the message is recorded; one over the size limit is named in the
message's details instead.  Threading clues, best first: the message replied
to (one of ours, found in the channel's state, or one of the customer's, found
by its receipt), then the request the chat's latest message went to.  The
domain decides from them (domain.requests.interactions): a closed request is
not joined but followed up, an unknown user gets a provisional customer.

A failure to fetch a file or to reach the store raises: the update is then not
confirmed and comes again (polling) or is refused with 500 so Telegram retries
it (webhook).  Nothing is half-recorded: the command is one atomic write.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Bot, Message, Update
from telegram.error import BadRequest

from channels.chat.settings import MAX_DOWNLOAD
from channels.chat.state import TelegramState
from channels.chat.survey_answers import answer_survey
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore, BlobTooLarge
from domain.chat_links.commands import LinkByPhone, RedeemLinkCode
from domain.errors import AlreadyExists, DomainError, InvalidInput
from domain.requests.commands import InboundMessage, RecordInbound
from domain.text import clean

log = logging.getLogger(__name__)

CHANNEL = "telegram"


@dataclass(frozen=True)
class UpdateOutcome:
    update_id: int
    # recorded | duplicate | linked | refused | ignored
    kind: str
    reference: str | None = None
    customer_code: str | None = None
    note: str = ""


def message_external_id(message: Message, edited: bool = False) -> str:
    """The receipt key: a message is one (chat, message id) whatever update carried
    it; each edit of it is a message of its own, keyed by when it was edited."""
    base = f"{message.chat.id}:{message.message_id}"
    if edited and message.edit_date is not None:
        return f"{base}:edit:{int(message.edit_date.timestamp())}"
    return base


class UpdateRecorder:
    def __init__(self, app: Ledgerdesk, blobs: BlobStore, state: TelegramState,
                 survey_key: str = "") -> None:
        self.app = app
        self.blobs = blobs
        self.state = state
        self.survey_key = survey_key  # checks survey buttons' tokens (LEDGERDESK_SECRET_KEY)

    async def record(self, update: Update, bot: Bot) -> UpdateOutcome:
        if update.callback_query is not None:  # a survey's button pressed
            kind, reference, note = await answer_survey(
                self.app, self.survey_key, update.callback_query, bot)
            return UpdateOutcome(update.update_id, kind, reference, note=note)
        edited = update.message is None and update.edited_message is not None
        message = update.message or update.edited_message
        if message is None:
            return UpdateOutcome(update.update_id, "ignored", note="not a message")
        user = message.from_user
        if user is None or user.is_bot or message.chat.type != "private":
            # Groups and channels are not customers writing to the desk.
            return UpdateOutcome(update.update_id, "ignored", note="not a private chat")
        text = message.text or ""
        if not edited and text.startswith("/start"):
            return await self._start(update.update_id, text, str(user.id))
        linked_to = None
        contact = message.contact
        if contact is not None and contact.user_id == user.id and not edited:
            linked_to = await self._link_by_phone(contact.phone_number, str(user.id))
        inbound = await self._inbound(update, message, edited)
        recorded = await asyncio.to_thread(self.app.handle, RecordInbound(inbound))
        await asyncio.to_thread(self.state.remember_chat, message.chat.id, recorded.reference)
        note = f"linked to {linked_to}" if linked_to else ""
        return UpdateOutcome(update.update_id, "duplicate" if recorded.duplicate else "recorded",
                             recorded.reference, recorded.customer_code, note)

    async def _start(self, update_id: int, text: str, user_id: str) -> UpdateOutcome:
        """`/start CODE` (a deep link t.me/<bot>?start=CODE sends the same): the code is
        a secret, so the message itself is not recorded, only its redemption."""
        parts = text.split(maxsplit=1)
        if len(parts) < 2:
            return UpdateOutcome(update_id, "ignored", note="/start without a code")
        try:
            code = await asyncio.to_thread(self.app.handle, RedeemLinkCode(
                parts[1].strip(), "telegram", user_id, actor=f"telegram:{user_id}"))
        except (InvalidInput, AlreadyExists) as error:
            return UpdateOutcome(update_id, "refused", note=error.message)
        return UpdateOutcome(update_id, "linked", customer_code=code)

    async def _link_by_phone(self, phone: str, user_id: str) -> str | None:
        try:
            found = await asyncio.to_thread(self.app.handle, LinkByPhone(
                phone, "telegram", user_id, actor=f"telegram:{user_id}"))
        except DomainError as error:
            log.info("a shared contact could not be linked: %s", error.message)
            return None
        return str(found) if found else None

    async def _inbound(self, update: Update, message: Message, edited: bool) -> InboundMessage:
        user = message.from_user
        assert user is not None
        details: dict[str, Any] = {
            "chat_id": message.chat.id, "message_id": message.message_id,
            "update_id": update.update_id,
        }
        if user.username:
            details["username"] = clean(user.username)
        body = clean(message.text or message.caption or "")
        hints: list[str] = []
        if edited:
            original = message_external_id(message)
            details["edited"] = original
            hints.append(original)
        reply_to = message.reply_to_message
        if reply_to is not None:
            details["reply_to_message_id"] = reply_to.message_id
            ours = await asyncio.to_thread(self.state.sent_reference, message.chat.id,
                                           reply_to.message_id)
            hints.append(ours or message_external_id(reply_to))
        current = await asyncio.to_thread(self.state.chat_reference, message.chat.id)
        if current:
            hints.append(current)
        if message.location is not None:
            location = {"latitude": message.location.latitude,
                        "longitude": message.location.longitude}
            details["location"] = location
            body = body or f"Location: {location['latitude']}, {location['longitude']}"
        if message.contact is not None:
            contact = message.contact
            name = clean(" ".join(filter(None, [contact.first_name, contact.last_name])))
            details["contact"] = {"name": name, "phone": clean(contact.phone_number),
                                  "user_id": contact.user_id}
            body = body or f"Shared contact: {name} {clean(contact.phone_number)}".strip()
        attachments, rejected = await self._files(message)
        if rejected:
            details["rejected_attachments"] = rejected
        if not body and not attachments:
            body = f"[{_kind_of(message)}]"
        name = clean(" ".join(filter(None, [user.first_name, user.last_name])))
        when = (message.edit_date if edited else message.date) or None
        return InboundMessage(
            channel=CHANNEL, external_id=message_external_id(message, edited),
            sender=str(user.id), body=body, sender_name=name, attachments=tuple(attachments),
            occurred_at=when if isinstance(when, datetime) else None,
            thread_hints=tuple(dict.fromkeys(hints)), details=details,
        )

    async def _files(self, message: Message) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        wanted: list[tuple[Any, str, str]] = []  # (file, filename, content type)
        if message.photo:
            largest = max(message.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
            wanted.append((largest, f"photo-{largest.file_unique_id}.jpg", "image/jpeg"))
        if message.document is not None:
            d = message.document
            wanted.append((d, d.file_name or f"document-{d.file_unique_id}",
                           d.mime_type or "application/octet-stream"))
        if message.voice is not None:
            v = message.voice
            wanted.append((v, f"voice-{v.file_unique_id}.ogg", v.mime_type or "audio/ogg"))
        if message.video is not None:
            video = message.video
            wanted.append((video, video.file_name or f"video-{video.file_unique_id}.mp4",
                           video.mime_type or "video/mp4"))
        stored: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        limit = min(self.blobs.max_bytes, MAX_DOWNLOAD)
        for item, filename, content_type in wanted:
            filename = clean(filename)[:255] or "attachment"
            size = item.file_size or 0
            entry = {"filename": filename, "content_type": content_type, "size": size}
            if size > limit:
                rejected.append({**entry, "reason": f"larger than the {limit}-byte limit"})
                continue
            try:
                data = bytes(await (await item.get_file()).download_as_bytearray())
            except BadRequest as error:  # "file is too big" and the like: final for this file
                rejected.append({**entry, "reason": clean(error.message)[:200]})
                continue
            try:
                stored.append(await asyncio.to_thread(self.blobs.put, data, filename,
                                                      content_type))
            except BlobTooLarge as error:
                rejected.append({**entry, "size": len(data), "reason": str(error)})
        return stored, rejected


def _kind_of(message: Message) -> str:
    for kind in ("sticker", "animation", "audio", "video_note", "poll", "dice", "venue"):
        if getattr(message, kind, None):
            return kind
    return "empty message"
