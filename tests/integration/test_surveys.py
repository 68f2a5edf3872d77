"""Satisfaction surveys (issue 15, item 7), on SQLite and PostgreSQL.

A resolution queues one survey through the outbox (the policy run twice still
queues one); the email survey's signed links record a rating once, refuse a
tampered link and a second rating clearly; a reopened and resolved-again
request gets a new survey and may be rated again, while the old link may not.
The Telegram buttons path runs against the stand-in Bot API.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from channels.chat.channel import TelegramChannel
from channels.chat.settings import TelegramConfig
from channels.chat.state import TelegramState
from domain import ids
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.customers.commands import RegisterCustomer
from domain.delivery import Outbound
from domain.requests.commands import ChangeStatus, OpenRequest
from domain.survey_links import CALLBACK_PREFIX, make_token
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from policies.delivery import DeliveryPolicy
from policies.survey import SurveyPolicy, survey_senders
from projections.inbox import InboxView
from projections.outbox import OutboxView
from projections.registry import open_read_models, open_views
from projections.timeline import TimelineView
from tests.integration import test_portal
from tests.integration.test_portal import LI, Portal
from tests.support.telegram_api import TOKEN, BotApiStandIn, RunningStandIn

AGENT = "agent@ledgerdesk.test"
SECRET = "survey-secret"
PUBLIC = "https://desk.example"
USER = 777002
portal = test_portal.portal  # the portal's fixture: customers, users and the web app


class RecordingSender:
    """Stands in for the SMTP sender: keeps what it was given."""

    def __init__(self, channel: str = "email") -> None:
        self.channel = channel
        self.sent: list[Outbound] = []

    async def send(self, message: Outbound) -> str:
        self.sent.append(message)
        return f"<{message.reply_id}@desk>"


class ReplayDb:
    """The policy's table as it was before its first resolution was counted."""

    def __init__(self, reference: str) -> None:
        self.reference = reference

    def execute(self, sql: str, params: Any = ()) -> None:
        pass

    def one(self, sql: str, params: Any = ()) -> dict[str, Any]:
        return {"reference": self.reference, "resolutions": 1}


class Desk:
    def __init__(self, app: Ledgerdesk, store: Database, tmp_path: Path,
                 senders: dict[str, Any]) -> None:
        app.store.reply_channels = frozenset({"web", *senders})
        settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                            secret_key=SECRET)
        self.app = app
        self.policy = SurveyPolicy(app)
        self.models = open_views(settings, app, [InboxView(), TimelineView(), OutboxView(),
                                                 self.policy])
        self.delivery = DeliveryPolicy(app, self.models["outbox"],
                                       survey_senders(senders, SECRET, PUBLIC))

    async def deliver(self) -> int:
        self.catch_up()
        delivered = await self.delivery.run_once()
        self.catch_up()
        return delivered

    def catch_up(self) -> None:
        for _ in range(2):  # the policy queues replies the outbox then has to see
            for projector in self.models.projectors:
                projector.catch_up()

    def surveys(self, reference: str) -> list[Any]:
        return [e for e in self.app.events.get(ids.request_id(reference))
                if type(e).__name__ == "ReplyQueued" and getattr(e, "actor", "") == "system:survey"]

    def ratings(self, reference: str) -> list[Any]:
        return [e for e in self.app.events.get(ids.request_id(reference))
                if type(e).__name__ == "SatisfactionRated"]


@pytest.fixture
def mail() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def desk(app: Ledgerdesk, store: Database, tmp_path: Path, mail: RecordingSender
         ) -> Iterator[Desk]:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup",
                                identities=[("email", "li@acme.cn")]))
    d = Desk(app, store, tmp_path, {"email": mail})
    yield d
    d.models.close()


def resolve(app: Ledgerdesk, reference: str) -> None:
    app.handle(ChangeStatus(reference, "resolved", actor=AGENT))


def links_of(body: str) -> dict[int, str]:
    return {int(score): path for score, path in
            re.findall(r"^(\d) [^\n]*: https://desk\.example(/survey/\S+)$", body, re.M)}


def browser(app: Ledgerdesk, store: Database, tmp_path: Path) -> TestClient:
    settings = Settings(database=store, data_dir=tmp_path / "web", blob_dir=tmp_path / "wb",
                        secret_key=SECRET)
    (tmp_path / "web").mkdir(exist_ok=True)
    models = open_read_models(settings, app)
    return TestClient(create_app(app, models, secret_key=SECRET),
                      headers={"Accept-Language": "en"})


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def test_a_resolution_queues_one_survey_even_when_the_policy_runs_twice(
        desk: Desk, mail: RecordingSender, store: Database, tmp_path: Path) -> None:
    reference = desk.app.handle(OpenRequest("ACME", "support", "卡纸", AGENT, channel="email"))
    resolve(desk.app, reference)
    desk.catch_up()
    # The policy's reaction again (a rebuild, or a crash before its position was
    # saved): the survey is refused as already queued, not queued twice.
    [resolved] = [e for e in desk.app.events.get(ids.request_id(reference))
                  if type(e).__name__ == "Resolved"]
    SurveyPolicy(desk.app).resolved(ReplayDb(reference), resolved, 0)  # type: ignore[arg-type]
    desk.catch_up()
    assert len(desk.surveys(reference)) == 1
    [survey] = desk.surveys(reference)
    assert survey.automatic and survey.channel == "email"
    assert "/survey/" not in survey.body  # no token ever goes into an event
    assert await desk.deliver() == 1
    [sent] = mail.sent
    assert sorted(links_of(sent.body)) == [1, 2, 3, 4, 5]


async def test_the_signed_link_rates_once_and_a_tampered_one_is_refused(
        desk: Desk, mail: RecordingSender, app: Ledgerdesk, store: Database,
        tmp_path: Path) -> None:
    reference = desk.app.handle(OpenRequest("ACME", "support", "卡纸", AGENT, channel="email"))
    resolve(desk.app, reference)
    await desk.deliver()
    links = links_of(mail.sent[0].body)
    client = browser(app, store, tmp_path)

    tampered = links[4][:-3] + ("AAA" if not links[4].endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 400
    forged = "/survey/" + make_token("another-key", reference, 1, 5, "ACME")
    assert client.get(forged).status_code == 400
    page = client.get(links[4])
    assert page.status_code == 200 and reference in page.text
    assert 'value="4" checked' in page.text
    assert desk.ratings(reference) == []  # opening the link records nothing
    done = client.post(links[4], data={"csrf_token": form_token(page.text), "score": "4",
                                       "comment": "快"})
    assert done.status_code == 200 and 'data-survey="recorded"' in done.text
    [rating] = desk.ratings(reference)
    assert (rating.score, rating.comment, rating.actor) == (4, "快", "customer:ACME")

    again = client.get(links[1])
    second = client.post(links[1], data={"csrf_token": form_token(again.text), "score": "1"})
    assert second.status_code == 409
    assert "already rated for this resolution" in second.text
    assert len(desk.ratings(reference)) == 1


async def test_a_reopened_and_resolved_again_request_gets_a_new_survey(
        desk: Desk, mail: RecordingSender, app: Ledgerdesk, store: Database,
        tmp_path: Path) -> None:
    reference = desk.app.handle(OpenRequest("ACME", "support", "卡纸", AGENT, channel="email"))
    resolve(desk.app, reference)
    await desk.deliver()
    old = links_of(mail.sent[0].body)
    client = browser(app, store, tmp_path)
    page = client.get(old[2])
    client.post(old[2], data={"csrf_token": form_token(page.text)})
    desk.app.handle(ChangeStatus(reference, "open", actor=AGENT, reason="not fixed"))
    resolve(desk.app, reference)
    assert await desk.deliver() == 1

    assert len(desk.surveys(reference)) == 2
    new = links_of(mail.sent[1].body)
    stale = client.post(old[5], data={"csrf_token": form_token(page.text)})
    assert stale.status_code == 409 and "earlier resolution" in stale.text
    fresh = client.post(new[5], data={"csrf_token": form_token(page.text)})
    assert fresh.status_code == 200
    assert [r.score for r in desk.ratings(reference)] == [2, 5]


async def test_a_portal_request_gets_its_survey_in_the_portal(desk: Desk) -> None:
    reference = desk.app.handle(OpenRequest("ACME", "support", "卡纸", AGENT))
    resolve(desk.app, reference)
    desk.catch_up()
    [survey] = desk.surveys(reference)
    assert survey.channel == "web"


# --- Telegram -----------------------------------------------------------------------------


@pytest.fixture
def bot_api() -> Iterator[BotApiStandIn]:
    with RunningStandIn() as api:
        yield api


async def test_telegram_buttons_rate_the_resolution_once(
        app: Ledgerdesk, store: Database, tmp_path: Path, bot_api: BotApiStandIn) -> None:
    config = TelegramConfig(token=TOKEN, base_url=bot_api.base_url, poll_timeout=1,
                            max_inline_wait=5)
    channel = TelegramChannel(app, BlobStore(tmp_path / "tb"), config,
                              TelegramState.open(store, tmp_path), survey_key=SECRET)
    sender = channel.sender()
    assert sender is not None
    desk = Desk(app, store, tmp_path, {"telegram": sender})
    try:
        bot_api.message(USER, "打印机坏了")
        [outcome] = (await channel.poller.run_once()).outcomes
        reference = outcome.reference or ""
        resolve(app, reference)
        assert await desk.deliver() == 1
        [sent] = bot_api.sent
        [params] = [p for p in bot_api.called("sendMessage")]
        keyboard = params["reply_markup"]["inline_keyboard"]
        data = [row[0]["callback_data"] for row in keyboard]
        assert len(data) == 5 and all(d.startswith(CALLBACK_PREFIX) for d in data)
        assert all(len(d.encode()) <= 64 for d in data)  # the Bot API's limit

        bot_api.press(USER, sent, data[0])  # five stars
        bot_api.press(USER, sent, data[4])  # then one: refused
        bot_api.press(USER, sent, CALLBACK_PREFIX + "SR-000001.1.5~forged")
        report = await channel.poller.run_once()
        assert [o.kind for o in report.outcomes] == ["recorded", "refused", "refused"]
        assert [r.score for r in desk.ratings(reference)] == [5]
        answers = [p["text"] for p in bot_api.called("answerCallbackQuery")]
        assert "Thank you" in answers[0] and "already rated" in answers[1]
        assert desk.ratings(reference)[0].actor == f"telegram:{USER}"
        await asyncio.sleep(0)
    finally:
        desk.models.close()
        channel.state.close()


# --- the portal -------------------------------------------------------------------------


def test_the_portal_rates_each_resolution_once(portal: Portal) -> None:
    reference = portal.app.handle(OpenRequest("ACME", "support", "卡纸", f"web:{LI}"))
    portal.app.handle(ChangeStatus(reference, "resolved", actor=AGENT))
    portal.project()
    customer = portal.browser(LI)
    page = customer.get(f"/portal/requests/{reference}").text
    assert 'data-action="rate"' in page
    rated = customer.post(f"/portal/requests/{reference}/rate", data={
        "csrf_token": form_token(page), "score": "3"}, follow_redirects=False)
    assert rated.status_code == 303
    again = customer.post(f"/portal/requests/{reference}/rate",
                          data={"csrf_token": form_token(page), "score": "5"})
    assert again.status_code == 422 and "already rated for this resolution" in again.text
    portal.project()
    assert 'data-action="rate"' not in customer.get(f"/portal/requests/{reference}").text
    portal.app.handle(ChangeStatus(reference, "open", actor=AGENT, reason="again"))
    portal.app.handle(ChangeStatus(reference, "resolved", actor=AGENT))
    portal.project()
    page = customer.get(f"/portal/requests/{reference}").text
    assert 'data-action="rate"' in page  # a new resolution, a new rating
    assert customer.post(f"/portal/requests/{reference}/rate", data={
        "csrf_token": form_token(page), "score": "5"}, follow_redirects=False).status_code == 303
