"""The Telegram channel against a stand-in Bot API server (tests/support/telegram_api.py).

python-telegram-bot itself, unmocked, is pointed at the stand-in by base URL; every
test runs on SQLite and on PostgreSQL (the ``app`` fixture).  Updates are queued on
the stand-in, fetched by the channel's poller (or posted to its webhook route),
recorded through the domain, projected, answered by an agent and delivered by the
delivery policy through the channel's sender.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from channels.chat.channel import TelegramChannel
from channels.chat.sender import split_text
from channels.chat.settings import TelegramConfig, file_url_of
from channels.chat.state import TelegramState
from domain import ids
from domain.access import Principal
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.chat_links.commands import IssueLinkCode
from domain.customers.commands import RegisterCustomer
from domain.delivery import retry_delay
from domain.requests.commands import ChangeStatus, QueueReply
from ledgerdesk.config import Database, Settings
from policies.delivery import DeliveryPolicy
from projections import queries
from projections.inbox import InboxView
from projections.outbox import OutboxView
from projections.registry import ReadModels, open_views
from projections.timeline import TimelineView
from tests.support.telegram_api import TOKEN, BotApiStandIn, RunningStandIn, error_response

AGENT = "agent@ledgerdesk.test"
STAFF = Principal(AGENT, ("agent",), None)
USER = 777001  # a Telegram user (and, in a private chat, the chat id)
SECRET = "s3cret-webhook_token"


# --- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def bot_api() -> Iterator[BotApiStandIn]:
    with RunningStandIn() as api:
        yield api


@pytest.fixture
def telegram_app(app: Ledgerdesk) -> Ledgerdesk:
    # What bootstrap does once the channel has a sender.
    app.store.reply_channels = frozenset({"web", "email", "telegram"})
    return app


@pytest.fixture
def models(telegram_app: Ledgerdesk, store: Database, tmp_path: Path) -> Iterator[ReadModels]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs",
                        secret_key="k")
    opened = open_views(settings, telegram_app,
                        [InboxView(), TimelineView(), OutboxView()])
    yield opened
    opened.close()


class Desk:
    """The channel, the read models and the delivery policy: what serve runs."""

    def __init__(self, app: Ledgerdesk, models: ReadModels, channel: TelegramChannel) -> None:
        self.app = app
        self.models = models
        self.channel = channel
        sender = channel.sender()
        assert sender is not None
        self.delivery = DeliveryPolicy(app, models.storages["outbox"], {"telegram": sender})

    async def catch_up(self) -> None:
        for projector in self.models.projectors:
            await asyncio.to_thread(projector.catch_up)

    async def deliver(self) -> int:
        await self.catch_up()
        delivered = await self.delivery.run_once()
        await self.catch_up()
        return delivered

    def inbox(self, **params: str) -> list[dict[str, Any]]:
        return list(queries.inbox(self.models, STAFF, params)["items"])

    def timeline(self, reference: str) -> list[dict[str, Any]]:
        return list(queries.service_request(self.models, STAFF, reference)["timeline"])


def make_channel(app: Ledgerdesk, blobs: BlobStore, store: Database, tmp_path: Path,
                 api: BotApiStandIn, **options: Any) -> TelegramChannel:
    config = TelegramConfig(token=TOKEN, base_url=api.base_url, poll_timeout=1,
                            max_inline_wait=5, **options)
    return TelegramChannel(app, blobs, config, TelegramState.open(store, tmp_path))


@pytest.fixture
def desk(telegram_app: Ledgerdesk, blobs: BlobStore, store: Database, tmp_path: Path,
         bot_api: BotApiStandIn, models: ReadModels) -> Iterator[Desk]:
    channel = make_channel(telegram_app, blobs, store, tmp_path, bot_api)
    yield Desk(telegram_app, models, channel)
    channel.state.close()


def events_named(app: Ledgerdesk, reference: str, name: str) -> list[Any]:
    return [e for e in app.events.get(ids.request_id(reference)) if type(e).__name__ == name]


def all_stored_bytes(app: Ledgerdesk) -> bytes:
    """Every stored event's bytes, to prove a value never went into the log."""
    return b"".join(n.state for n in app.recorder.select_notifications(start=1, limit=10**6))


# --- the round trip -------------------------------------------------------------------------


async def test_text_and_photo_to_one_request_then_a_reply_reaches_the_chat(
    desk: Desk, bot_api: BotApiStandIn, blobs: BlobStore
) -> None:
    picture = b"\xff\xd8\xff\xe0 JPEG " + os.urandom(3000)
    bot_api.message(USER, "打印机卡纸，显示 E5")
    photo_update = bot_api.message(USER, "这是照片", photo=bot_api.photo(picture))

    report = await desk.channel.poller.run_once()

    assert report.count("recorded") == 2
    [reference] = {o.reference for o in report.outcomes}
    messages = events_named(desk.app, reference, "MessageReceived")
    assert [m.body for m in messages] == ["打印机卡纸，显示 E5", "这是照片"]
    assert messages[0].sender == str(USER) and messages[0].channel == "telegram"
    [attachment] = messages[1].attachments
    assert blobs.get(attachment) == picture  # the largest size, fetched through getFile
    assert attachment["content_type"] == "image/jpeg"
    await desk.catch_up()
    [item] = desk.inbox()
    assert (item["reference"], item["channel"]) == (reference, "telegram")
    entries = [e for e in desk.timeline(reference) if e["kind"] == "message"]
    assert [len(e["attachments"]) for e in entries] == [0, 1]
    customer = desk.app.customer(item["customer_code"])
    assert customer.provisional and customer.identities == [f"telegram:{USER}"]

    reply_id = desk.app.handle(QueueReply(reference, "请打开前盖取出卡纸。", AGENT))
    assert await desk.deliver() == 1

    [sent] = bot_api.sent
    assert (sent.method, sent.chat_id, sent.text) == ("sendMessage", USER, "请打开前盖取出卡纸。")
    assert sent.reply_to == photo_update["message"]["message_id"]  # threads to the latest
    assert desk.app.service_request(reference).replies[reply_id] == "delivered"
    # Personal data never lies in the log in clear.
    assert str(USER).encode() not in all_stored_bytes(desk.app)


async def test_an_attachment_on_a_reply_goes_as_a_photo_or_a_document(
    desk: Desk, bot_api: BotApiStandIn, blobs: BlobStore
) -> None:
    bot_api.message(USER, "hello")
    [outcome] = (await desk.channel.poller.run_once()).outcomes
    manual = blobs.put(b"%PDF-1.4 manual", "手册.pdf", "application/pdf")
    picture = blobs.put(b"\x89PNG picture", "diagram.png", "image/png")
    desk.app.handle(QueueReply(outcome.reference or "", "See the files.", AGENT,
                               attachments=[manual, picture]))
    assert await desk.deliver() == 1
    assert [(s.method, s.filename) for s in bot_api.sent] == [
        ("sendMessage", ""), ("sendDocument", "手册.pdf"), ("sendPhoto", "diagram.png")]
    assert bot_api.sent[1].data == b"%PDF-1.4 manual"


# --- nothing lost, nothing doubled ----------------------------------------------------------


async def test_redelivered_updates_are_recorded_once(desk: Desk, bot_api: BotApiStandIn) -> None:
    first = bot_api.message(USER, "one")
    await desk.channel.poller.run_once()
    # The same update again (a server resending it), and the same message under a new
    # update id (a webhook delivery overlapping a poll).
    bot_api.redeliver(first)
    bot_api.push({"message": first["message"]})
    bot_api.message(USER, "two")
    report = await desk.channel.poller.run_once()

    assert (report.count("recorded"), report.count("duplicate")) == (1, 1)
    [reference] = {o.reference for o in report.outcomes}
    assert [m.body for m in events_named(desk.app, reference, "MessageReceived")] == [
        "one", "two"]


class CrashingState(TelegramState):
    """The process dies right after recording the update with `crash_after` as its
    update id, before its offset is stored."""

    crash_after = -1

    def save_next_update(self, bot: str, next_update: int) -> None:
        if next_update - 1 == self.crash_after:
            raise SystemExit("killed")
        super().save_next_update(bot, next_update)


async def test_a_restart_in_the_middle_of_a_stream_loses_and_doubles_nothing(
    telegram_app: Ledgerdesk, blobs: BlobStore, store: Database, tmp_path: Path,
    bot_api: BotApiStandIn,
) -> None:
    updates = [bot_api.message(USER, f"message {i}") for i in range(6)]
    config = TelegramConfig(token=TOKEN, base_url=bot_api.base_url, poll_limit=2)
    crashing = CrashingState.open(store, tmp_path)
    assert isinstance(crashing, CrashingState)
    crashing.crash_after = updates[2]["update_id"]
    first = TelegramChannel(telegram_app, blobs, config, crashing)
    with pytest.raises(SystemExit):
        await first.poller.run_once()
    crashing.close()

    # A new process, on the same store: the offset says where to resume.
    polls_before = len(bot_api.called("getUpdates"))
    second = TelegramChannel(telegram_app, blobs, config, TelegramState.open(store, tmp_path))
    report = await second.poller.run_once()
    second.state.close()

    assert [o.kind for o in report.outcomes] == ["duplicate", "recorded", "recorded", "recorded"]
    assert bot_api.called("getUpdates")[polls_before]["offset"] == updates[2]["update_id"]
    [reference] = {o.reference for o in report.outcomes}
    bodies = [m.body for m in events_named(telegram_app, reference, "MessageReceived")]
    assert bodies == [f"message {i}" for i in range(6)]


async def test_a_file_that_cannot_be_fetched_stops_the_stream_until_it_can(
    desk: Desk, bot_api: BotApiStandIn, blobs: BlobStore
) -> None:
    doc = bot_api.document(b"log line\n" * 50, "error.log", "text/plain")
    bot_api.message(USER, "log attached", document=doc)
    bot_api.message(USER, "after the log")
    bot_api.broken_files.add("documents/error.log")
    with pytest.raises(Exception, match=r"500|[Uu]navailable|NetworkError"):
        await desk.channel.poller.run_once()
    report = await desk.channel.poller.run_once()
    assert report.count("recorded") == 2
    [reference] = {o.reference for o in report.outcomes}
    [with_file, _] = events_named(desk.app, reference, "MessageReceived")
    assert blobs.get(with_file.attachments[0]) == b"log line\n" * 50


async def test_a_file_over_the_limit_is_named_not_fetched(
    desk: Desk, bot_api: BotApiStandIn, blobs: BlobStore
) -> None:
    big = bot_api.document(b"x" * (blobs.max_bytes + 1), "huge.bin", "application/octet-stream")
    bot_api.message(USER, "", document=big)
    [outcome] = (await desk.channel.poller.run_once()).outcomes
    [message] = events_named(desk.app, outcome.reference or "", "MessageReceived")
    assert message.attachments == []
    assert message.details["rejected_attachments"][0]["filename"] == "huge.bin"
    assert bot_api.called("getFile") == []


# --- delivery failures and limits -----------------------------------------------------------


async def test_429_is_waited_out_then_the_reply_goes(desk: Desk, bot_api: BotApiStandIn) -> None:
    bot_api.message(USER, "hello")
    [outcome] = (await desk.channel.poller.run_once()).outcomes
    reply_id = desk.app.handle(QueueReply(outcome.reference or "", "answer", AGENT))
    bot_api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    assert await desk.deliver() == 1

    assert len(bot_api.called("sendMessage")) == 2
    assert [s.text for s in bot_api.sent] == ["answer"]
    assert desk.app.service_request(outcome.reference or "").replies[reply_id] == "delivered"


@pytest.mark.parametrize("gone", ["blocked", "deleted"])
async def test_a_blocked_bot_or_a_deleted_chat_is_a_final_failure_shown_in_the_inbox(
    desk: Desk, bot_api: BotApiStandIn, gone: str
) -> None:
    bot_api.message(USER, "hello")
    [outcome] = (await desk.channel.poller.run_once()).outcomes
    reference = outcome.reference or ""
    reply_id = desk.app.handle(QueueReply(reference, "answer", AGENT))
    getattr(bot_api, gone).add(USER)

    assert await desk.deliver() == 0

    assert desk.app.service_request(reference).replies[reply_id] == "failed"
    [failed] = desk.inbox(queue="delivery_failed")
    assert failed["reference"] == reference
    [entry] = [e for e in desk.timeline(reference) if e["kind"] == "delivery_failed"]
    assert entry["data"]["final"] is True
    assert ("403" if gone == "blocked" else "chat not found") in entry["body"].lower()
    assert await desk.deliver() == 0 and len(bot_api.called("sendMessage")) == 1  # not retried


async def test_a_10000_character_reply_is_split_into_three_messages(
    desk: Desk, bot_api: BotApiStandIn
) -> None:
    bot_api.message(USER, "hello")
    [outcome] = (await desk.channel.poller.run_once()).outcomes
    body = ("故障排除步骤。" * 1500)[:10_000]
    desk.app.handle(QueueReply(outcome.reference or "", body, AGENT))
    assert await desk.deliver() == 1
    texts = [s.text for s in bot_api.sent]
    assert len(texts) == 3 and all(len(t) <= 4096 for t in texts)
    assert "".join(texts) == body
    assert bot_api.sent[0].reply_to is not None and bot_api.sent[1].reply_to is None


async def test_a_retry_after_a_partial_failure_sends_only_the_missing_parts(
    desk: Desk, bot_api: BotApiStandIn
) -> None:
    bot_api.message(USER, "hello")
    [outcome] = (await desk.channel.poller.run_once()).outcomes
    body = "a" * 4096 + "b" * 4096
    desk.app.handle(QueueReply(outcome.reference or "", body, AGENT))
    await desk.catch_up()
    bot_api.sent.clear()
    bot_api.failures["sendMessage"] = []
    # The second part fails for a while; the next scheduled attempt sends only it.
    original = bot_api._api_sendMessage
    calls = {"n": 0}

    async def flaky(params: dict[str, Any]) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            return error_response(502, "Bad Gateway")
        return await original(params)

    bot_api._api_sendMessage = flaky  # type: ignore[method-assign]
    assert await desk.delivery.run_once() == 0
    await desk.catch_up()
    later = desk.app.clock.now() + retry_delay(1)
    assert await desk.delivery.run_once(later) == 1
    assert [s.text[:1] for s in bot_api.sent] == ["a", "b"]


def test_splitting_counts_what_the_bot_api_counts() -> None:
    assert split_text("") == [""]
    assert [len(p) for p in split_text("x" * 10_000)] == [4096, 4096, 1808]
    emoji = "😀" * 3000  # two UTF-16 units each
    assert [len(p) for p in split_text(emoji)] == [2048, 952]
    lines = ("line\n" * 1000)
    assert all(p.endswith("\n") for p in split_text(lines))
    assert file_url_of("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"


# --- the webhook ----------------------------------------------------------------------------


async def test_the_webhook_refuses_a_wrong_secret_and_records_a_right_one(
    telegram_app: Ledgerdesk, blobs: BlobStore, store: Database, tmp_path: Path,
    bot_api: BotApiStandIn,
) -> None:
    channel = make_channel(telegram_app, blobs, store, tmp_path, bot_api,
                           webhook_url="https://desk.example/channels/telegram/webhook",
                           webhook_secret=SECRET)
    assert channel.loops().keys() == {"telegram-webhook"}
    asgi = Starlette(routes=[Mount("/channels/telegram", routes=channel.routes())])
    update = bot_api.message(USER, "via webhook")
    bot_api.updates.clear()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi),
                                 base_url="http://desk") as client:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            refused = await client.post("/channels/telegram/webhook", json=update,
                                        headers=headers)
            assert refused.status_code == 403
        assert telegram_app.customer_by_identity("telegram", str(USER)) is None

        good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        for _ in range(2):  # Telegram retrying: recorded once
            accepted = await client.post("/channels/telegram/webhook", json=update,
                                         headers=good)
            assert accepted.status_code == 200
        assert accepted.json()["outcome"] == "duplicate"
        bad = await client.post("/channels/telegram/webhook", content=b"[1]", headers=good)
        assert bad.status_code == 400
    customer = telegram_app.customer_by_identity("telegram", str(USER))
    assert customer is not None

    stop = asyncio.Event()
    registering = asyncio.create_task(channel.webhook.register(stop))
    for _ in range(100):
        if bot_api.webhook:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await registering
    assert bot_api.webhook["url"] == "https://desk.example/channels/telegram/webhook"
    assert bot_api.webhook["secret_token"] == SECRET
    channel.state.close()


# --- edits, contacts, link codes ------------------------------------------------------------


async def test_an_edited_message_is_a_new_event_that_points_to_the_original(
    desk: Desk, bot_api: BotApiStandIn
) -> None:
    original = bot_api.message(USER, "型号 LX-300")
    await desk.channel.poller.run_once()
    bot_api.edit(original, "型号 LX-350")
    [outcome] = (await desk.channel.poller.run_once()).outcomes
    first, edited = events_named(desk.app, outcome.reference or "", "MessageReceived")
    assert (first.body, edited.body) == ("型号 LX-300", "型号 LX-350")
    assert edited.details["edited"] == first.external_id


async def test_a_reply_to_one_of_our_messages_threads_to_its_request(
    desk: Desk, bot_api: BotApiStandIn
) -> None:
    bot_api.message(USER, "first problem")
    [first] = (await desk.channel.poller.run_once()).outcomes
    desk.app.handle(QueueReply(first.reference or "", "answer one", AGENT))
    await desk.deliver()
    [ours] = bot_api.sent
    # The first request is closed and a second one opened by the agent's colleague...
    desk.app.handle(ChangeStatus(first.reference or "", "resolved", AGENT))
    bot_api.message(USER, "about your answer",
                    reply_to_message={"message_id": ours.message_id, "date": 0,
                                      "chat": {"id": USER, "type": "private"},
                                      "from": {"id": 123456, "is_bot": True,
                                               "first_name": "Ledgerdesk"},
                                      "text": "answer one"})
    [again] = (await desk.channel.poller.run_once()).outcomes
    assert again.reference == first.reference
    assert desk.app.service_request(first.reference or "").status == "open"


async def test_a_shared_contact_links_the_user_to_the_customer_with_that_number(
    desk: Desk, bot_api: BotApiStandIn
) -> None:
    desk.app.handle(RegisterCustomer("HUAXIN", "华信科技", actor=AGENT,
                                     identities=[("phone", "+86 138-0013-8000")]))
    bot_api.message(USER, "你好")  # before linking: a provisional customer
    [before] = (await desk.channel.poller.run_once()).outcomes
    bot_api.message(USER, "", contact={"phone_number": "8613800138000", "first_name": "Wang",
                                       "user_id": USER})
    [shared] = (await desk.channel.poller.run_once()).outcomes

    assert shared.customer_code == "HUAXIN" and shared.note == "linked to HUAXIN"
    assert shared.reference == before.reference  # the provisional's request came along
    huaxin = desk.app.customer("HUAXIN")
    assert f"telegram:{USER}" in huaxin.identities
    assert desk.app.service_request(before.reference or "").customer_code == "HUAXIN"
    [_, contact] = events_named(desk.app, shared.reference or "", "MessageReceived")
    assert contact.details["contact"]["phone"] == "8613800138000"


async def test_someone_elses_contact_links_nothing(desk: Desk, bot_api: BotApiStandIn) -> None:
    desk.app.handle(RegisterCustomer("HUAXIN", "华信科技", actor=AGENT,
                                     identities=[("phone", "+8613800138000")]))
    bot_api.message(USER, "", contact={"phone_number": "+8613800138000", "first_name": "Li",
                                       "user_id": USER + 1})
    [outcome] = (await desk.channel.poller.run_once()).outcomes
    assert outcome.customer_code != "HUAXIN"
    assert f"telegram:{USER}" not in desk.app.customer("HUAXIN").identities


async def test_start_with_a_link_code_links_once_and_a_wrong_code_links_nothing(
    desk: Desk, bot_api: BotApiStandIn
) -> None:
    desk.app.handle(RegisterCustomer("NORDIC", "Nordic Print", actor=AGENT))
    code = desk.app.handle(IssueLinkCode("NORDIC", actor=AGENT))
    bot_api.message(USER, "/start WRONGCODE1")
    bot_api.message(USER, f"/start {code}")
    bot_api.message(USER + 1, f"/start {code}")  # someone else with the same code
    bot_api.message(USER, "我的打印机坏了")
    report = await desk.channel.poller.run_once()

    assert [o.kind for o in report.outcomes] == ["refused", "linked", "refused", "recorded"]
    assert report.outcomes[1].customer_code == "NORDIC"
    assert report.outcomes[3].customer_code == "NORDIC"
    assert desk.app.customer("NORDIC").identities == [f"telegram:{USER}"]
    assert desk.app.customer_by_identity("telegram", str(USER + 1)) is None
    assert code.encode() not in all_stored_bytes(desk.app)  # only a keyed hash is kept


async def test_a_new_telegram_request_is_acknowledged_in_the_chat_once(
    telegram_app: Ledgerdesk, blobs: BlobStore, store: Database, tmp_path: Path,
    bot_api: BotApiStandIn,
) -> None:
    from policies.acknowledge import AcknowledgementPolicy

    policy = AcknowledgementPolicy(telegram_app)
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "blobs",
                        secret_key="k")
    models = open_views(settings, telegram_app, [InboxView(), TimelineView(), OutboxView(),
                                                  policy])
    channel = make_channel(telegram_app, blobs, store, tmp_path, bot_api)
    try:
        desk = Desk(telegram_app, models, channel)
        bot_api.message(USER, "我的设备坏了")
        bot_api.message(USER, "还在吗")  # the same request: acknowledged once, not twice
        await channel.poller.run_once()
        await desk.catch_up()  # the policy queues the acknowledgement...
        assert await desk.deliver() == 1  # ...and it goes to the chat
        [sent] = bot_api.sent
        assert sent.chat_id == USER and "SR-" in sent.text
        [reference] = {e["reference"] for e in desk.inbox()}
        assert desk.app.service_request(reference).status == "new"  # still awaits an answer
        await desk.catch_up()
        assert await desk.deliver() == 0
    finally:
        channel.state.close()
        models.close()
