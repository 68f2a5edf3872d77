"""`ledgerdesk email poll --once` as an operator runs it: real Dovecot, real SMTP relay."""

from __future__ import annotations

import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

from ledgerdesk.config import Database
from tests.integration.test_cli import database_url
from tests.support.mailservers import Dovecot, RecordingSMTPServer


def test_email_poll_once_ingests_and_acknowledges(
    store: Database, tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    mail = EmailMessage()
    mail["From"] = "王工 <wang@customer.example.cn>"
    mail["To"] = "support@desk.example"
    mail["Subject"] = "空调不制冷"
    mail["Message-ID"] = "<cli-1@customer.example.cn>"
    mail.set_content("机房空调昨天开始不制冷。", charset="gb18030")
    dovecot.append(bytes(mail))
    env = dict(
        os.environ,
        LEDGERDESK_DATABASE_URL=database_url(store), LEDGERDESK_DATA_DIR=str(tmp_path),
        LEDGERDESK_IMAP_HOST=dovecot.host, LEDGERDESK_IMAP_PORT=str(dovecot.port),
        LEDGERDESK_IMAP_USER=dovecot.user, LEDGERDESK_IMAP_PASSWORD=dovecot.password,
        LEDGERDESK_SMTP_HOST="127.0.0.1", LEDGERDESK_SMTP_PORT=str(smtp_server.port),
        LEDGERDESK_MAIL_FROM="support@desk.example",
    )
    run = [sys.executable, "-m", "ledgerdesk.cli", "email", "poll", "--once"]
    done = subprocess.run(run, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "recorded 1" in done.stdout
    reference = done.stdout.strip().splitlines()[-1]
    assert reference.startswith("SR-")
    smtp_server.wait_for(1, timeout=10)
    assert f"[{reference}]" in smtp_server.messages[0].data.decode("utf-8", "replace")
    again = subprocess.run(run, env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0 and "recorded 0" in again.stdout


def test_email_poll_without_imap_host_is_a_clear_error(store: Database, tmp_path: Path) -> None:
    env = dict(os.environ, LEDGERDESK_DATABASE_URL=database_url(store),
               LEDGERDESK_DATA_DIR=str(tmp_path))
    env.pop("LEDGERDESK_IMAP_HOST", None)
    done = subprocess.run([sys.executable, "-m", "ledgerdesk.cli", "email", "poll", "--once"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == "ledgerdesk: email ingest is off: set LEDGERDESK_IMAP_HOST"
