"""The mail-server fixtures work the way the email channel will use them.

These are real servers (Debian's Dovecot, aiosmtpd), driven with the same client libraries
the product uses: aioimaplib for ingest, aiosmtplib for delivery.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from email.message import EmailMessage

import aioimaplib
import aiosmtplib
import pytest

from tests.support.mailservers import Dovecot, RecordingSMTPServer

# Lets this module run on its own; the root conftest registers the same plugin for everyone.
pytest_plugins = ["tests.support.mail_fixtures"]

CUSTOMER_MAIL = (
    "From: 王喆 <wang.zhe@example.cn>\r\n"
    "To: support@ledgerdesk.test\r\n"
    "Subject: =?UTF-8?B?5omT5Y2w5py65pWF6Zqc?=\r\n"
    "Message-ID: <first@example.cn>\r\n"
    "Date: Mon, 04 Mar 2024 09:30:00 +0800\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "打印机卡纸，请派工程师。\r\n"
).encode()


def uidvalidity(select_lines: list[bytes]) -> int:
    for line in select_lines:
        match = re.search(rb"\[UIDVALIDITY (\d+)\]", line)
        if match:
            return int(match.group(1))
    raise AssertionError(f"no UIDVALIDITY in {select_lines!r}")


async def connect(
    server: Dovecot, on_lost: Callable[[Exception | None], None] | None = None
) -> aioimaplib.IMAP4:
    # conn_lost_cb is the only sign of a dropped connection: pending commands just time out.
    client = aioimaplib.IMAP4(host=server.host, port=server.port, timeout=10, conn_lost_cb=on_lost)
    await client.wait_hello_from_server()
    response = await client.login(server.user, server.password)
    assert response.result == "OK", response
    return client


@pytest.mark.asyncio
async def test_aioimaplib_reads_what_the_fixture_appends(dovecot: Dovecot) -> None:
    uid = dovecot.append(CUSTOMER_MAIL)
    assert uid == 1

    client = await connect(dovecot)
    try:
        assert client.has_capability("IDLE")
        selected = await client.select("INBOX")
        assert selected.result == "OK"
        assert uidvalidity(selected.lines) > 0

        found = await client.uid_search("ALL")
        assert found.result == "OK"
        assert found.lines[0].split() == [b"1"]

        fetched = await client.uid("fetch", "1", "(UID BODY.PEEK[])")
        assert fetched.result == "OK"
        literals = [bytes(line) for line in fetched.lines if isinstance(line, bytearray)]
        assert literals == [CUSTOMER_MAIL]
    finally:
        await client.logout()

    assert dovecot.fetch_all() == [CUSTOMER_MAIL]


@pytest.mark.asyncio
async def test_idle_reports_a_new_message(dovecot: Dovecot) -> None:
    client = await connect(dovecot)
    try:
        await client.select("INBOX")
        idle = await client.idle_start(timeout=30)
        await asyncio.to_thread(dovecot.append, CUSTOMER_MAIL)
        pushed = await client.wait_server_push(timeout=10)
        assert b"1 EXISTS" in pushed
        client.idle_done()
        finished = await asyncio.wait_for(idle, 10)
        assert finished.result == "OK"
    finally:
        await client.logout()


@pytest.mark.asyncio
async def test_mail_and_uidvalidity_survive_a_restart(dovecot: Dovecot) -> None:
    dovecot.append(CUSTOMER_MAIL)
    lost = asyncio.Event()
    client = await connect(dovecot, on_lost=lambda _error: lost.set())
    before = uidvalidity((await client.select("INBOX")).lines)
    port = dovecot.port

    await asyncio.to_thread(dovecot.restart)

    # The old connection is gone, as it would be after a real server restart.
    await asyncio.wait_for(lost.wait(), 10)
    assert dovecot.port == port
    client = await connect(dovecot)
    try:
        assert uidvalidity((await client.select("INBOX")).lines) == before
        assert (await client.uid_search("ALL")).lines[0].split() == [b"1"]
    finally:
        await client.logout()
    assert dovecot.fetch_all() == [CUSTOMER_MAIL]


def test_append_to_another_mailbox(dovecot: Dovecot) -> None:
    dovecot.append(CUSTOMER_MAIL, mailbox="Archive")
    assert dovecot.fetch_all("Archive") == [CUSTOMER_MAIL]
    assert dovecot.fetch_all("INBOX") == []


def outbound(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "support@ledgerdesk.test"
    message["To"] = "王喆 <wang.zhe@example.cn>"
    message["Subject"] = subject
    message.set_content("您好，工程师明天上午到。\n")
    return message


@pytest.mark.asyncio
async def test_smtp_relay_records_and_survives_an_outage(smtp_server: RecordingSMTPServer) -> None:
    await aiosmtplib.send(
        outbound("Re: [SR-000001] 打印机故障"), hostname=smtp_server.host, port=smtp_server.port
    )
    (received,) = smtp_server.wait_for(1)
    assert received.mail_from == "support@ledgerdesk.test"
    assert received.rcpt_tos == ("wang.zhe@example.cn",)
    assert b"Subject: Re: [SR-000001]" in received.data

    port = smtp_server.port
    smtp_server.stop()
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await aiosmtplib.send(
            outbound("while down"), hostname=smtp_server.host, port=port, timeout=5
        )

    smtp_server.start()
    assert smtp_server.port == port
    await aiosmtplib.send(outbound("after restart"), hostname=smtp_server.host, port=port)
    assert len(smtp_server.wait_for(2)) == 2


@pytest.mark.asyncio
async def test_smtp_relay_can_refuse_temporarily(smtp_server: RecordingSMTPServer) -> None:
    smtp_server.reject_with = "451 4.3.0 try again later"
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await aiosmtplib.send(outbound("x"), hostname=smtp_server.host, port=smtp_server.port)
    assert refused.value.code == 451
    assert smtp_server.messages == []


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_smtp_relay_with_login() -> None:
    with RecordingSMTPServer(credentials=("relay-user", "relay-pass")) as server:
        with pytest.raises(aiosmtplib.SMTPException):
            await aiosmtplib.send(outbound("x"), hostname=server.host, port=server.port)
        await aiosmtplib.send(
            outbound("y"),
            hostname=server.host,
            port=server.port,
            username="relay-user",
            password="relay-pass",
            start_tls=False,
        )
        assert len(server.wait_for(1)) == 1
