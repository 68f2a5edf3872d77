"""Web chat on SQLite and PostgreSQL: the portal's panel and the embeddable
widget record each message once (by the browser's message id), keep a
conversation on one request that nobody else can write to, and an agent's
reply reaches the open panel, or the visitor's email once they have left."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from channels.email.sender import SmtpSender
from channels.email.settings import SmtpConfig
from channels.web.chat_sender import ChatSender
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.customers.commands import RegisterCustomer
from domain.requests.commands import AddNote, QueueReply
from domain.requests.routing import first_identity
from domain.users.commands import AddUser
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from policies.delivery import DeliveryPolicy
from projections.access_log import open_access_log
from projections.chat_presence import ChatPresence
from projections.registry import ReadModels, open_read_models
from tests.support.desks import PASSWORD, csrf_of, sign_in
from tests.support.mailservers import RecordingSMTPServer

LI, AGENT = "li@acme.cn", "agent@desk.cn"


class Chat:
    def __init__(self, app: Ledgerdesk, models: ReadModels, asgi: Any, presence: ChatPresence
                 ) -> None:
        self.app, self.models, self.asgi, self.presence = app, models, asgi, presence

    def project(self) -> None:
        for projector in self.models.projectors:
            projector.catch_up()

    def messages(self) -> list[dict[str, Any]]:
        return self.models["timeline"].query(
            "SELECT t.body, r.customer_code FROM timeline t JOIN timeline_requests r "
            "ON r.request_id = t.request_id WHERE t.kind = 'message' ORDER BY t.position")

    def chat_requests(self) -> list[dict[str, Any]]:
        return self.models["inbox"].query(
            "SELECT reference, customer_code FROM inbox WHERE channel = 'chat' ORDER BY reference")


@pytest.fixture
def chat(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[Chat]:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup", identities=[("email", LI)]))
    app.handle(AddUser(LI, ["customer"], actor="setup", customer_code="ACME", password=PASSWORD))
    app.handle(AddUser(AGENT, ["agent"], actor="setup", password=PASSWORD))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    log = open_access_log(tmp_path, models.datastore)
    asgi = create_app(app, models, access_log=log, secret_key="s")
    yield Chat(app, models, asgi, ChatPresence(log.transactions))
    log.close()
    models.close()


def send(client: TestClient, path: str, message: str, client_id: str, **extra: str) -> Any:
    return client.post(path, data={"message": message, "client_id": client_id, **extra},
                       headers={"Accept": "application/json"})


def test_the_portal_chat_records_once_and_keeps_one_conversation(chat: Chat) -> None:
    customer = TestClient(chat.asgi)
    sign_in(customer, LI)
    token = csrf_of(customer.get("/portal/chat").text)
    first = send(customer, "/portal/chat/messages", "你好 <b>在吗</b>", "msg-00000001",
                 csrf_token=token)
    again = send(customer, "/portal/chat/messages", "你好 <b>在吗</b>", "msg-00000001",
                 csrf_token=token)  # the same message resent after a dropped connection
    assert first.status_code == again.status_code == 200
    assert again.json() == {"reference": first.json()["reference"], "duplicate": True}
    second = send(customer, "/portal/chat/messages", "打印机坏了", "msg-00000002",
                  csrf_token=token)
    assert second.json()["reference"] == first.json()["reference"]
    chat.project()
    assert [m["body"] for m in chat.messages()] == ["你好 <b>在吗</b>", "打印机坏了"]
    page = customer.get("/portal/chat").text
    assert page.count('data-direction="in"') == 2 and "&lt;b&gt;在吗" in page
    assert send(customer, "/portal/chat/messages", "x", "msg-00000003").status_code == 403


def test_a_visitor_chats_through_the_widget_and_only_sees_their_own(chat: Chat) -> None:
    visitor = TestClient(chat.asgi)
    page = visitor.get("/chat/widget")
    assert "frame-ancestors *" in page.headers["content-security-policy"]
    assert visitor.post("/chat/widget/start", data={"name": "", "contact": ""}
                        ).status_code == 400
    started = visitor.post("/chat/widget/start", data={"name": "Vic",
                                                       "contact": "vic@visitor.example"})
    token = re.search(r'name="token" value="([^"]+)"', started.text).group(1)
    first = send(visitor, "/chat/widget/messages", "Hello", "wid-00000001", token=token)
    assert first.status_code == 200
    token = first.json()["token"]  # now names the conversation
    resent = send(visitor, "/chat/widget/messages", "Hello", "wid-00000001", token=token)
    assert resent.json()["duplicate"] is True
    more = send(visitor, "/chat/widget/messages", "Are you there?", "wid-00000002", token=token)
    reference = more.json()["reference"]
    assert reference == first.json()["reference"]
    chat.project()
    [row] = chat.chat_requests()
    provisional = chat.app.customer(row["customer_code"])
    assert provisional.provisional and first_identity(provisional, "email") == \
        "vic@visitor.example"
    chat.app.handle(AddNote(reference, "内部备注", actor=AGENT))
    chat.app.handle(QueueReply(reference, "Yes, how can we help?", actor=AGENT))
    chat.project()
    shown = visitor.get("/chat/widget/conversation", params={"token": token}).text
    assert 'data-direction="out"' in shown and "Yes, how can we help?" in shown
    assert "内部备注" not in shown
    # a token that was tampered with, or none, opens nothing
    assert visitor.get("/chat/widget/conversation",
                       params={"token": token[:-3] + "abc"}).status_code == 404
    assert send(visitor, "/chat/widget/messages", "hi", "wid-00000003",
                token="forged").status_code == 404
    # another visitor starts their own conversation, never this one
    other = TestClient(chat.asgi)
    other_start = other.post("/chat/widget/start", data={"name": "Eve", "contact": "+86 139"})
    other_token = re.search(r'name="token" value="([^"]+)"', other_start.text).group(1)
    theirs = send(other, "/chat/widget/messages", "hi", "eve-00000001", token=other_token)
    assert theirs.json()["reference"] != reference


def test_an_agents_reply_goes_to_the_open_panel_or_by_mail_once_they_left(
        chat: Chat, tmp_path: Path, smtp_server: RecordingSMTPServer) -> None:
    customer = TestClient(chat.asgi)
    sign_in(customer, LI)
    token = csrf_of(customer.get("/portal/chat").text)
    reference = send(customer, "/portal/chat/messages", "在吗", "msg-10000001",
                     csrf_token=token).json()["reference"]
    email = SmtpSender(BlobStore(tmp_path / "b"), SmtpConfig(host=smtp_server.host,
                                                            port=smtp_server.port, timeout=3),
                       "support@desk.cn")
    sender = ChatSender(email, lambda code: first_identity(chat.app.customer(code), "email"))
    sender.presence = chat.presence
    chat.app.store.reply_channels = frozenset({"chat", "email", "web"})
    delivery = DeliveryPolicy(chat.app, chat.models["outbox"], {"chat": sender, "email": email})

    chat.project()
    customer.get("/portal/chat?part=conversation")  # the panel is open
    chat.app.handle(QueueReply(reference, "在的，请讲。", actor=AGENT))
    chat.project()
    assert asyncio.run(delivery.run_once()) == 1
    assert smtp_server.messages == []  # shown in the panel, not mailed

    chat.presence.left(reference)  # the page was closed
    chat.app.handle(QueueReply(reference, "我们已安排工程师。", actor=AGENT))
    chat.project()
    assert asyncio.run(delivery.run_once()) == 1
    [mail] = [BytesParser(policy=policy.default).parsebytes(m.data)
              for m in smtp_server.messages]
    assert mail["To"] == LI and "我们已安排工程师。" in mail.get_body().get_content()
