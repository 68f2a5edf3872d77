"""Several `serve` processes on one store: the API and projections run in all of them, the
email loop and the policies in exactly one, and a survivor takes over when that one dies.

Real processes, a real Dovecot and SMTP relay; the store is PostgreSQL (advisory locks) and
SQLite (a file lock in the shared data folder)."""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from domain.application import Ledgerdesk
from ledgerdesk.config import Database
from ledgerdesk.persistence import event_store_env
from tests.integration.test_cli import database_url
from tests.support.mailservers import Dovecot, RecordingSMTPServer, free_port

TAKEOVER_LIMIT = 30.0  # seconds the issue allows for a standby to take over


def mail(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {n} <customer{n}@example.cn>"
    message["To"] = "support@desk.example"
    message["Subject"] = f"设备故障 {n}"
    message["Message-ID"] = f"<failover-{n}@example.cn>"
    message.set_content(f"第 {n} 台设备无法启动。")
    return bytes(message)


def readiness(port: int) -> dict[str, object]:
    """/readyz, whether it says ready (200) or catching up (503): both list what runs here."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as error:
        return dict(json.loads(error.read()))


def readiness_or_none(port: int) -> dict[str, object] | None:
    try:
        return readiness(port)
    except (OSError, ValueError):  # not listening yet
        return None


def acknowledgements(smtp: RecordingSMTPServer) -> dict[str, int]:
    """Acknowledgement mails received, counted per customer address."""
    counts: dict[str, int] = {}
    seen: set[str] = set()
    for received in list(smtp.messages):
        parsed = email.message_from_bytes(received.data, policy=default)
        if parsed["Auto-Submitted"] != "auto-replied" or parsed["Message-ID"] in seen:
            continue  # a repeated delivery keeps its Message-ID: a mail client shows it once
        seen.add(parsed["Message-ID"])
        counts[str(parsed["To"])] = counts.get(str(parsed["To"]), 0) + 1
    return counts


def wait_for(condition: object, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if callable(condition) and condition():
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {timeout}s")


@pytest.fixture
def servers(
    store: Database, tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> Iterator[dict[int, subprocess.Popen[bytes]]]:
    env = dict(
        os.environ,
        LEDGERDESK_DATABASE_URL=database_url(store), LEDGERDESK_DATA_DIR=str(tmp_path),
        LEDGERDESK_IMAP_HOST=dovecot.host, LEDGERDESK_IMAP_PORT=str(dovecot.port),
        LEDGERDESK_IMAP_USER=dovecot.user, LEDGERDESK_IMAP_PASSWORD=dovecot.password,
        LEDGERDESK_SMTP_HOST="127.0.0.1", LEDGERDESK_SMTP_PORT=str(smtp_server.port),
        LEDGERDESK_MAIL_FROM="support@desk.example",
    )
    started: dict[int, subprocess.Popen[bytes]] = {}
    try:
        for n in range(2):
            port = free_port()
            log = (tmp_path / f"serve-{n}.log").open("wb")
            started[port] = subprocess.Popen(
                [sys.executable, "-m", "ledgerdesk.cli", "serve", "--port", str(port)],
                env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
            )
        for port in started:
            wait_for(lambda port=port: readiness_or_none(port) is not None, 60, f"serve on {port}")
        yield started
    finally:
        for process in started.values():
            if process.poll() is None:
                process.terminate()
        for process in started.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def holder_of(job: str, servers: dict[int, subprocess.Popen[bytes]]) -> int:
    holders = [port for port, process in servers.items() if process.poll() is None
               and job in (readiness_or_none(port) or {}).get("running", [])]  # type: ignore[operator]
    assert len(holders) == 1, f"{job} runs in {len(holders)} processes"
    return holders[0]


def test_one_process_reads_the_mailbox_and_a_survivor_takes_over(
    store: Database, dovecot: Dovecot, smtp_server: RecordingSMTPServer,
    servers: dict[int, subprocess.Popen[bytes]],
) -> None:
    for n in range(20):
        dovecot.append(mail(n))
    wait_for(lambda: len(acknowledgements(smtp_server)) == 20, 90, "20 acknowledgements")
    holder = holder_of("email-ingest", servers)

    servers[holder].send_signal(signal.SIGKILL)
    servers[holder].wait(timeout=10)
    for n in range(20, 40):
        dovecot.append(mail(n))
    wait_for(lambda: len(acknowledgements(smtp_server)) == 40, TAKEOVER_LIMIT,
             "the survivor's 20 acknowledgements")
    survivor = next(port for port in servers if port != holder)
    assert "email-ingest" in readiness(survivor)["running"]  # type: ignore[operator]
    time.sleep(3)  # a doubled acknowledgement would arrive by now

    counts = acknowledgements(smtp_server)
    assert sorted(counts) == sorted(f"customer{n}@example.cn" for n in range(40))
    assert set(counts.values()) == {1}, "every mail is acknowledged exactly once"
    app = Ledgerdesk(env=event_store_env(store))
    try:
        received = [n for n in app.recorder.select_notifications(start=1, limit=100_000)
                    if n.topic.endswith("MessageReceived")]
    finally:
        app.close()
    assert len(received) == 40, "every mail is recorded exactly once"
