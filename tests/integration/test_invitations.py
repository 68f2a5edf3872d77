"""Invitations to the portal and password resets by one-time link, on SQLite and
PostgreSQL, with the mail going through a real SMTP server (aiosmtpd): the
link sets a password once, an expired, tampered or replaced link is refused,
the reset form answers alike for every address and is throttled, CSRF guards
every form, and neither the link nor its nonce is ever stored in the log."""

from __future__ import annotations

import email
import re
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
from httpx import Response
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from starlette.testclient import TestClient

from channels.email.notify import notifier
from channels.web import password_links
from domain.application import Ledgerdesk
from domain.customers.commands import AddContact, RegisterCustomer
from domain.users.commands import AddUser
from domain.users.links import nonce_hash
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.access_log import open_access_log
from projections.registry import open_read_models
from tests.support.desks import PASSWORD, csrf_of, sign_in
from tests.support.mailservers import RecordingSMTPServer

AGENT, CONTACT, SECRET = "agent@desk.cn", "zhao@acme.cn", "test-secret"
NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"http://testserver(/(?:portal/welcome|password/reset)/[A-Za-z0-9._-]+)")


class Desk:
    def __init__(self, app: Ledgerdesk, asgi: object, smtp: RecordingSMTPServer | None) -> None:
        self.app, self.asgi, self.smtp = app, asgi, smtp

    def browser(self, who: str | None = None) -> TestClient:
        client = TestClient(self.asgi, headers={"Accept-Language": "en"})  # type: ignore[arg-type]
        if who:
            sign_in(client, who)
        return client

    def link_in_mail(self, count: int) -> tuple[str, str]:
        assert self.smtp is not None
        received = self.smtp.wait_for(count)[count - 1]
        mail = email.message_from_bytes(received.data, policy=policy.default)
        body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        found = LINK.search(body)
        assert found, body
        return found.group(1), received.rcpt_tos[0]

    def stored_states(self) -> bytes:
        notifications = self.app.recorder.select_notifications(start=1, limit=100_000)
        return b"\n".join(bytes(n.state) for n in notifications)


def _desk(store: Database, app: Ledgerdesk, tmp_path: Path,
          smtp: RecordingSMTPServer | None) -> Iterator[Desk]:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    app.handle(AddContact("ACME", "赵六", actor="setup", email=CONTACT))
    app.handle(AddUser(AGENT, ["agent"], actor="setup", password=PASSWORD))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    log = open_access_log(tmp_path, models.datastore)
    send = notifier({"host": smtp.host, "port": str(smtp.port)}, "support@desk.cn") if smtp \
        else None
    asgi = create_app(app, models, access_log=log, secret_key=SECRET, send_mail=send,
                      public_url="http://testserver")
    for projector in models.projectors:
        projector.catch_up()
    yield Desk(app, asgi, smtp)
    log.close()
    models.close()


@pytest.fixture
def desk(store: Database, app: Ledgerdesk, tmp_path: Path,
         smtp_server: RecordingSMTPServer) -> Iterator[Desk]:
    yield from _desk(store, app, tmp_path, smtp_server)


def invite(desk: Desk, agent: TestClient, address: str = CONTACT, role: str = "customer",
           **extra: str) -> Response:
    page = agent.get("/console/customers/ACME").text
    return agent.post("/console/customers/ACME/invite", data={
        "csrf_token": csrf_of(page), "email": address, "role": role, "name": "赵六", **extra},
        follow_redirects=False)


def set_password(client: TestClient, path: str, password: str = NEW_PASSWORD,
                 again: str | None = None) -> Response:
    page = client.get(path)
    token = csrf_of(page.text) if page.status_code == 200 else "x"
    return client.post(path, data={"csrf_token": token, "password": password,
                                   "again": password if again is None else again},
                       follow_redirects=False)


def test_an_invitation_mail_sets_a_password_once_and_signs_in(desk: Desk) -> None:
    agent = desk.browser(AGENT)
    answer = invite(desk, agent)
    assert answer.status_code == 303
    path, to = desk.link_in_mail(1)
    assert to == CONTACT and path.startswith("/portal/welcome/")
    assert desk.app.user(CONTACT).password_hash is None  # no way in before the link
    newcomer = desk.browser()
    form = newcomer.get(path)
    assert form.status_code == 200 and CONTACT in form.text and 'name="password"' in form.text
    mismatch = set_password(newcomer, path, again="something else entirely")
    assert mismatch.status_code == 400
    too_short = set_password(newcomer, path, password="short")
    assert too_short.status_code == 400
    done = set_password(newcomer, path)
    assert done.status_code == 303 and done.headers["location"] == "/portal"
    assert newcomer.get("/portal").status_code == 200  # signed in by the link
    assert sign_in(desk.browser(), CONTACT, NEW_PASSWORD).headers["location"] == "/portal"
    # Once only: the same link again, in another browser, is refused.
    again = desk.browser()
    assert again.get(path).status_code == 400
    assert set_password(again, path, "yet another passphrase").status_code == 400
    assert sign_in(desk.browser(), CONTACT, "yet another passphrase").status_code == 400
    user = desk.app.user(CONTACT)
    assert user.roles == ["customer"] and user.customer_code == "ACME"


def test_tampered_expired_and_replaced_links_are_refused(desk: Desk) -> None:
    agent = desk.browser(AGENT)
    invite(desk, agent)
    first, _ = desk.link_in_mail(1)
    token = first.rsplit("/", 1)[1]
    tampered = first[:-3] + ("AAA" if not first.endswith("AAA") else "BBB")
    assert desk.browser().get(tampered).status_code == 400
    # Signed with another key (someone who read the log but not the secret).
    forged = URLSafeTimedSerializer("another key", salt=password_links.SALT).dumps(
        {"e": CONTACT, "p": "invite", "n": "guess"})
    assert desk.browser().get(f"/portal/welcome/{forged}").status_code == 400
    # An invitation's token does not work as a reset link.
    assert desk.browser().get(f"/password/reset/{token}").status_code == 400
    # Expired: a token signed eight days ago.
    email_, nonce = password_links.read_token(SECRET, token, "invite") or ("", "")
    old = _signed_at(time.time() - 8 * 24 * 3600, email_, "invite", nonce)
    assert desk.browser().get(f"/portal/welcome/{old}").status_code == 400
    assert set_password(desk.browser(), f"/portal/welcome/{old}").status_code == 400
    # Inviting again replaces the first link.
    invite(desk, agent)
    second, _ = desk.link_in_mail(2)
    assert desk.browser().get(first).status_code == 400
    assert set_password(desk.browser(), second).status_code == 303
    # Once the account is in use, a colleague cannot invite it again.
    assert invite(desk, agent).status_code == 409


def _signed_at(moment: float, address: str, purpose: str, nonce: str) -> str:
    """A token as the desk would have signed it at `moment`."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(moment)

    serializer = URLSafeTimedSerializer(SECRET, salt=password_links.SALT, signer=Then)
    return serializer.dumps({"e": address, "p": purpose, "n": nonce})


def test_reset_answers_alike_for_every_address_and_works_once(desk: Desk) -> None:
    desk.app.handle(AddUser(CONTACT, ["customer"], actor="setup", customer_code="ACME",
                            password=PASSWORD))
    signed_out = desk.browser()
    login = signed_out.get("/login").text
    assert 'href="/password/reset"' in login

    def ask(address: str) -> str:
        page = signed_out.get("/password/reset").text
        answer = signed_out.post("/password/reset", data={
            "csrf_token": csrf_of(page), "email": address})
        assert answer.status_code == 200
        return answer.text.replace(address, "")

    unknown = ask("nobody@nowhere.cn")
    known = ask(CONTACT)
    assert known == unknown and "If the address is known" in known
    path, to = desk.link_in_mail(1)
    assert to == CONTACT and path.startswith("/password/reset/")
    assert len(desk.smtp.messages) == 1  # type: ignore[union-attr]  # none for the unknown
    assert set_password(desk.browser(), path).status_code == 303
    assert sign_in(desk.browser(), CONTACT, PASSWORD).status_code == 400  # the old one is gone
    assert sign_in(desk.browser(), CONTACT, NEW_PASSWORD).status_code == 303
    assert desk.browser().get(path).status_code == 400  # once
    # The reset form is throttled per account.
    throttled = [signed_out.post("/password/reset", data={
        "csrf_token": csrf_of(signed_out.get("/password/reset").text),
        "email": CONTACT}).status_code for _ in range(6)]
    assert 429 in throttled


def test_no_token_nonce_or_link_is_stored(desk: Desk) -> None:
    desk.app.handle(AddUser("qian@acme.cn", ["customer_admin"], actor="setup",
                            customer_code="ACME", password=PASSWORD))
    invite(desk, desk.browser(AGENT))
    signed_out = desk.browser()
    signed_out.post("/password/reset", data={
        "csrf_token": csrf_of(signed_out.get("/password/reset").text), "email": "qian@acme.cn"})
    stored = desk.stored_states()
    for count in (1, 2):
        path, _ = desk.link_in_mail(count)
        token = path.rsplit("/", 1)[1]
        purpose = "invite" if "welcome" in path else "reset"
        _, nonce = password_links.read_token(SECRET, token, purpose) or ("", "")
        assert nonce and nonce.encode() not in stored
        for part in token.split("."):
            assert part.encode() not in stored
        assert nonce_hash(nonce).encode() in stored  # what is kept instead


def test_every_new_form_needs_its_csrf_token(desk: Desk) -> None:
    agent = desk.browser(AGENT)
    agent.get("/console/customers/ACME")
    refused = agent.post("/console/customers/ACME/invite",
                         data={"email": CONTACT, "role": "customer"})
    assert refused.status_code == 403
    signed_out = desk.browser()
    signed_out.get("/password/reset")
    assert signed_out.post("/password/reset", data={"email": CONTACT}).status_code == 403
    invite(desk, agent)
    path, _ = desk.link_in_mail(1)
    newcomer = desk.browser()
    newcomer.get(path)
    assert newcomer.post(path, data={"password": NEW_PASSWORD,
                                     "again": NEW_PASSWORD}).status_code == 403
    assert desk.app.user(CONTACT).password_hash is None
    assert desk.smtp is not None and len(desk.smtp.messages) == 1


def test_a_customer_or_a_wrong_role_cannot_invite(desk: Desk) -> None:
    desk.app.handle(AddUser("qian@acme.cn", ["customer_admin"], actor="setup",
                            customer_code="ACME", password=PASSWORD))
    customer = desk.browser("qian@acme.cn")
    customer.get("/portal")
    assert customer.post("/console/customers/ACME/invite", data={
        "csrf_token": csrf_of(customer.get("/portal").text), "email": CONTACT,
        "role": "customer"}).status_code == 403
    agent = desk.browser(AGENT)
    assert invite(desk, agent, role="admin").status_code == 400
    assert invite(desk, agent, address="not-an-address").status_code == 400


@pytest.fixture
def desk_without_smtp(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[Desk]:
    yield from _desk(store, app, tmp_path, None)


def test_without_smtp_the_console_shows_the_link_to_hand_over(desk_without_smtp: Desk) -> None:
    desk = desk_without_smtp
    answer = invite(desk, desk.browser(AGENT))
    assert answer.status_code == 200
    found = re.search(r'data-invite-link>.*?value="http://testserver(/portal/welcome/[^"]+)"',
                      answer.text, re.S)
    assert found
    assert set_password(desk.browser(), found.group(1)).status_code == 303
    assert desk.browser().get(found.group(1)).status_code == 400


def test_a_reset_link_is_never_built_on_a_forged_host(store: Database, app: Ledgerdesk,
                                                       tmp_path: Path) -> None:
    """Without LEDGERDESK_PUBLIC_URL no reset link is mailed: the Host header of an
    anonymous request is whatever the asker wrote."""
    sent: list[tuple[str, str, str]] = []

    async def send(to: str, subject: str, body: str) -> None:
        sent.append((to, subject, body))

    app.handle(AddUser("li@acme.cn", ["agent"], actor="setup", password="correct horse 1"))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    try:
        client = TestClient(create_app(app, models, secret_key=SECRET, send_mail=send),
                            base_url="http://evil.example")
        form = client.get("/password/reset").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        answer = client.post("/password/reset", data={"csrf_token": token,
                                                      "email": "li@acme.cn"})
        assert answer.status_code == 200
        assert sent == []
    finally:
        models.close()
