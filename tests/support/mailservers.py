"""Real mail servers for integration tests: a throw-away Dovecot and a recording SMTP relay.

Dovecot is the Debian package (``dovecot-imapd``) run with a private configuration in a temp
directory, on a free loopback port, so a test never touches the machine's own mail setup. The
SMTP relay is aiosmtpd in a thread; both can be stopped and started again on the same port to
test what the application does while a server is away.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

DOVECOT_BINARY = "/usr/sbin/dovecot"
DEBIAN_PACKAGES = ("dovecot-imapd",)  # brings dovecot-core; nothing else is needed


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(
    host: str, port: int, timeout: float, what: str, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} while starting")
        try:
            with socket.create_connection((host, port), timeout=0.5) as connection:
                connection.settimeout(2)
                if connection.recv(100):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer on {host}:{port} within {timeout}s")
        time.sleep(0.05)


def _wait_until_closed(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
        except OSError:
            return
        time.sleep(0.05)


def _signal_group(group: int, signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal_number)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


class Dovecot:
    """One private Dovecot IMAP server with one plain-password user and maildir storage."""

    def __init__(self, user: str = "support", password: str = "imap-test-password") -> None:
        if not Path(DOVECOT_BINARY).exists():
            raise RuntimeError(
                f"{DOVECOT_BINARY} is missing: install the Debian package(s) "
                + " ".join(DEBIAN_PACKAGES)
            )
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user = user
        self.password = password
        self._root = Path(tempfile.mkdtemp(prefix="ledgerdesk-dovecot-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._write_config()

    @property
    def directory(self) -> Path:
        return self._root

    @property
    def log_path(self) -> Path:
        return self._root / "dovecot.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _accounts(self) -> tuple[str, str, str, int, int]:
        """(login user, mail user, mail group, uid, gid) for the user running the tests.

        Dovecot refuses to run login processes as root and refuses mail owned by uid 0, so as
        root the package's own unprivileged users take those roles.
        """
        if os.geteuid() == 0:
            mail = pwd.getpwnam("dovecot")
            pwd.getpwnam("dovenull")  # fails clearly when the package is half installed
            group = grp.getgrgid(mail.pw_gid).gr_name
            return "dovenull", "dovecot", group, mail.pw_uid, mail.pw_gid
        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(os.getegid()).gr_name
        return me.pw_name, me.pw_name, group, me.pw_uid, os.getegid()

    def _write_config(self) -> None:
        login_user, mail_user, mail_group, uid, gid = self._accounts()
        root = self._root
        for name in ("run", "state", "mail"):
            (root / name).mkdir()
        # The temp dir is private by default; the unprivileged mail user must reach its mail.
        root.chmod(0o755)
        if os.geteuid() == 0:
            os.chown(root / "mail", uid, gid)
        (root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        # Only root may chroot; an unprivileged Dovecot runs its helpers without one.
        chroot = "" if os.geteuid() == 0 else "  chroot =\n"
        config = f"""
# Written by tests/support/mailservers.py; nothing outside {root} is used.
base_dir = {root}/run
state_dir = {root}/state
instance_name = ledgerdesk-test-{self.port}
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {mail_user}
default_internal_group = {mail_group}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service anvil {{
{chroot}}}
service imap-login {{
{chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
        (root / "dovecot.conf").write_text(config)

    @property
    def config_path(self) -> Path:
        return self._root / "dovecot.conf"

    def start(self) -> None:
        if self._process is not None:
            return
        log = (self._root / "dovecot.stderr").open("ab")
        # -F keeps the master in the foreground, so it is this object's child to stop.
        self._process = subprocess.Popen(
            [DOVECOT_BINARY, "-F", "-c", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: on stop the whole group goes, because the master leaves
            # logged-in imap processes (and their open connections) running when it exits.
            start_new_session=True,
        )
        log.close()
        try:
            _wait_for_port(self.host, self.port, 15, "Dovecot", self._process)
        except RuntimeError as error:
            self.stop()
            details = (self._root / "dovecot.stderr").read_text(errors="replace") + self.log()
            raise RuntimeError(f"{error}\n{details}") from error

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        # Children that outlive the master would keep serving old connections.
        deadline = time.monotonic() + 5
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        _signal_group(process.pid, signal.SIGKILL)
        _wait_until_closed(self.host, self.port, timeout=5)

    def restart(self) -> None:
        """Stop and start again on the same port, keeping the mail (an outage, not a wipe)."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._root, ignore_errors=True)

    def _connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def create_mailbox(self, mailbox: str) -> None:
        client = self._connect()
        try:
            client.create(mailbox)
        finally:
            client.logout()

    def append(self, raw: bytes, mailbox: str = "INBOX") -> int | None:
        """Deliver ``raw`` into ``mailbox`` (created if missing); returns its UID."""
        client = self._connect()
        try:
            if mailbox.upper() != "INBOX":
                client.create(mailbox)  # "NO already exists" is fine
            status, data = client.append(mailbox, "", None, raw)
            if status != "OK":
                raise RuntimeError(f"APPEND to {mailbox} failed: {data!r}")
            text = b" ".join(item for item in data if isinstance(item, bytes)).decode()
            match = re.search(r"APPENDUID \d+ (\d+)", text)
            return int(match.group(1)) if match else None
        finally:
            client.logout()

    def fetch_all(self, mailbox: str = "INBOX") -> list[bytes]:
        """Every message in ``mailbox``, raw, in UID order; flags are left untouched."""
        client = self._connect()
        try:
            status, _ = client.select(mailbox, readonly=True)
            if status != "OK":
                return []
            _, data = client.uid("SEARCH", "ALL")
            uids = data[0].split() if data and isinstance(data[0], bytes) else []
            messages: list[bytes] = []
            for uid in uids:
                _, fetched = client.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
                for item in fetched:
                    if isinstance(item, tuple):
                        messages.append(item[1])
            return messages
        finally:
            client.logout()

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.cleanup()


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


class _RecordingHandler:
    def __init__(self, server: RecordingSMTPServer) -> None:
        self._server = server

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return self._server._receive(envelope)


class RecordingSMTPServer:
    """An SMTP relay that keeps what it receives, for tests of outbound mail.

    ``reject_with`` makes it refuse DATA with the given reply (e.g. "451 4.3.0 try later") to
    test retries; ``credentials`` turns on AUTH PLAIN/LOGIN without TLS.
    """

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.credentials = credentials
        self.messages: list[ReceivedMessage] = []
        self.reject_with: str | None = None
        self._arrived = threading.Condition()
        self._controller: Controller | None = None

    def _receive(self, envelope: Envelope) -> str:
        if self.reject_with is not None:
            return self.reject_with
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        with self._arrived:
            self.messages.append(
                ReceivedMessage(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=data,
                )
            )
            self._arrived.notify_all()
        return "250 2.0.0 OK: queued"

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if self.credentials is None or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = self.credentials
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        if self._controller is not None:
            return
        options: dict[str, Any] = {}
        if self.credentials is not None:
            options = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        controller = Controller(
            _RecordingHandler(self), hostname=self.host, port=self.port, **options
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
            _wait_until_closed(self.host, self.port, timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def wait_for(self, count: int, timeout: float = 10) -> list[ReceivedMessage]:
        """Block until at least ``count`` messages arrived; returns them all."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"expected {count} messages, got {len(self.messages)}")
            return list(self.messages)

    def __enter__(self) -> RecordingSMTPServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
