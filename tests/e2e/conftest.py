"""A real desk for the browser tests: Dovecot, an SMTP relay, `ledgerdesk serve`, Chromium.

Nothing is mocked. The desk is a `ledgerdesk serve` subprocess on a free port with a SQLite
store in a temp folder, reading mail from a private Dovecot (tests.support.mailservers) and
sending through a recording aiosmtpd relay. Users are made with the CLI before it serves, the
customer through the JSON API. The browser is Debian's Chromium (/usr/bin/chromium) driven by
Playwright: Playwright's own browser download is never used.

One desk serves the whole module (starting it takes a few seconds); every test makes its own
requests by mail, with subjects of its own, so the tests do not depend on their order.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.support.mailservers import Dovecot, ReceivedMessage, RecordingSMTPServer, free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 900}
ARTIFACTS = REPO / "var" / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
UPDATE_SCREENSHOTS = "LEDGERDESK_UPDATE_SCREENSHOTS"

SUPPORT_ADDRESS = "support@desk.example"
CUSTOMER_CODE = "HUAXIN"
CUSTOMER_NAME = "华信精密机械有限公司"
CUSTOMER_EMAIL = "li.wei@huaxin.example.cn"
# More of the customer's people, so that no address meets the acknowledgement policy's
# hourly limit (3 per address): each test writes from addresses of its own.
CUSTOMER_EMAILS = (CUSTOMER_EMAIL, "zhao.min@huaxin.example.cn", "chen.jie@huaxin.example.cn")
PASSWORD = "browser-test-password"
# (email, display name): one agent per test, so one test's language choice (kept on the
# account) never shows up in another.
AGENTS = {
    "flow": ("wang.fang@desk.example", "王芳"),
    "alice": ("alice@desk.example", "Alice Chen"),
    "bob": ("bob@desk.example", "Bob Li"),
    "lang": ("zhang.wei@desk.example", "张伟"),
}
ADMIN = "admin@desk.example"
STARTUP_TIMEOUT = 60.0


def ledgerdesk_command() -> str:
    """The console script of the interpreter running the tests (.venv/bin/ledgerdesk)."""
    beside = Path(sys.executable).parent / "ledgerdesk"
    if beside.exists():
        return str(beside)
    found = shutil.which("ledgerdesk")
    if found is None:
        raise RuntimeError("no ledgerdesk command: pip install -e . into the venv first")
    return found


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Polls `condition` until it returns something truthy; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.1)


@dataclass
class Desk:
    """The running desk and what a test needs to talk to it from outside the browser."""

    base_url: str
    dovecot: Dovecot
    smtp: RecordingSMTPServer
    process: subprocess.Popen[bytes]
    log_path: Path
    admin_token: str = ""
    # The server's environment and working folder: `cli` runs ledgerdesk against the same
    # store while it serves (SQLite allows that).
    env: dict[str, str] = field(default_factory=dict)
    root: Path = Path()
    mails: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """`ledgerdesk ARGS` beside the server, on its store; its standard output."""
        return _cli(self.env, self.root, *args, stdin=stdin)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self, method: str, path: str, body: dict[str, Any] | None = None
            ) -> tuple[int, Any]:
        """(status, JSON answer) of the JSON API, as the admin."""
        request = urllib.request.Request(
            self.url("/api/v1" + path), method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.admin_token}",
                     "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def deliver(self, subject: str, body: str, sender: str = CUSTOMER_EMAIL,
                sender_name: str = "李伟") -> str:
        """A customer's mail put into the support mailbox (IMAP APPEND, as the email
        channel's tests do); returns its Message-ID."""
        message = EmailMessage()
        message["From"] = f"{sender_name} <{sender}>"
        message["To"] = SUPPORT_ADDRESS
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="huaxin.example.cn")
        message["Date"] = formatdate(localtime=True)
        message.set_content(body)
        self.dovecot.append(bytes(message))
        self.mails.append(subject)
        return str(message["Message-ID"])

    def reference_of(self, subject: str, timeout: float = 15) -> str:
        """The reference of the open request with this subject, once the inbox lists it."""

        def find() -> str | None:
            status, found = self.api("GET", "/inbox?limit=100")
            assert status == 200, found
            for item in found["items"]:
                if item["subject"] == subject:
                    return str(item["reference"])
            return None

        return str(wait_until(find, timeout, f"a request {subject!r} in the inbox"))

    def settle(self, reference: str, replies: int = 1, timeout: float = 15) -> dict[str, Any]:
        """Waits until the request has at least `replies` replies (a new mail's first is the
        automatic acknowledgement), each delivered or failed for good, and every view has
        projected everything; returns the request as the API shows it then.

        Needed before a form is loaded to be sent: the request page's forms carry the
        version they were rendered with, and a delivery receipt is a change of the
        request like any other (the desk answers 409 to a form older than it)."""

        def done() -> dict[str, Any] | None:
            status, found = self.api("GET", f"/service-requests/{reference}")
            assert status == 200, found
            queued: set[str] = set()
            finished: set[str] = set()
            for entry in found["timeline"]:
                data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
                reply_id = data.get("reply_id")
                if entry["kind"] == "reply" and reply_id:
                    queued.add(reply_id)
                elif entry["kind"] == "delivery" or (
                        entry["kind"] == "delivery_failed" and data.get("final", True)):
                    finished.add(reply_id)
            report = _readiness(self.base_url) or {}
            caught_up = bool(report.get("lag")) and max(report["lag"].values()) == 0
            return found if len(queued) >= replies and queued <= finished and caught_up \
                else None

        return dict(wait_until(done, timeout, f"{reference} settling ({replies} replies sent)"))

    def sent(self, matching: Callable[[Any], bool], timeout: float = 15) -> Any:
        """The first mail the relay received that `matching` accepts (parsed)."""

        def find() -> Any:
            for received in list(self.smtp.messages):
                parsed = parse(received)
                if matching(parsed):
                    return parsed
            return None

        return wait_until(find, timeout, "the expected mail at the SMTP relay")


def parse(received: ReceivedMessage) -> Any:
    parsed = BytesParser(policy=default_policy).parsebytes(received.data)
    parsed.envelope_to = received.rcpt_tos  # type: ignore[attr-defined]
    return parsed


def _cli(env: dict[str, str], cwd: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([ledgerdesk_command(), *args], env=env, cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"ledgerdesk {' '.join(args)} failed ({done.returncode}):\n"
                           f"{done.stdout}\n{done.stderr}")
    return done.stdout


def _readiness(base_url: str) -> dict[str, Any] | None:
    """/readyz, ready (200) or catching up (503); None while nothing listens."""
    try:
        with urllib.request.urlopen(base_url + "/readyz", timeout=2) as answer:
            return dict(json.loads(answer.read()), ready=True)
    except urllib.error.HTTPError as error:
        return dict(json.loads(error.read()), ready=False)
    except (OSError, ValueError):
        return None


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def desk() -> Iterator[Desk]:
    root = Path(tempfile.mkdtemp(prefix="ledgerdesk-e2e-"))
    dovecot = Dovecot()
    smtp = RecordingSMTPServer()
    process: subprocess.Popen[bytes] | None = None
    log = None
    try:
        dovecot.start()
        smtp.start()
        # Only our LEDGERDESK_ settings (and the suite's master key, set by the root
        # conftest); a ledgerdesk.toml is not read either, as the server runs in `root`.
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERDESK_")}
        env.update(
            LEDGERDESK_MASTER_KEY=os.environ["LEDGERDESK_MASTER_KEY"],
            LEDGERDESK_DATABASE_URL=f"sqlite:///{root / 'ld.db'}",
            LEDGERDESK_DATA_DIR=str(root / "data"),
            LEDGERDESK_BLOB_DIR=str(root / "blobs"),
            LEDGERDESK_IMAP_HOST=dovecot.host, LEDGERDESK_IMAP_PORT=str(dovecot.port),
            LEDGERDESK_IMAP_USER=dovecot.user, LEDGERDESK_IMAP_PASSWORD=dovecot.password,
            LEDGERDESK_SMTP_HOST=smtp.host, LEDGERDESK_SMTP_PORT=str(smtp.port),
            LEDGERDESK_MAIL_FROM=f"Ledgerdesk Support <{SUPPORT_ADDRESS}>",
            PYTHONUNBUFFERED="1",
        )
        token = _cli(env, root, "user", "add", ADMIN, "--role", "admin", "--name", "Admin",
                     "--token").strip().splitlines()[-1]
        for email, name in AGENTS.values():
            _cli(env, root, "user", "add", email, "--role", "agent", "--name", name,
                 "--password-stdin", stdin=PASSWORD + "\n")

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        log_path = root / "serve.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            [ledgerdesk_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
        running = process

        def ready() -> bool:
            if running.poll() is not None:
                raise RuntimeError(f"serve exited with {running.returncode}:\n"
                                   + log_path.read_text(errors="replace"))
            report = _readiness(base_url)
            # Ready, and this (only) process runs the mail loops and the policies.
            return bool(report and report["ready"] and "email-ingest" in report["running"]
                        and "delivery" in report["running"])

        wait_until(ready, STARTUP_TIMEOUT, "ledgerdesk serve getting ready")
        desk = Desk(base_url, dovecot, smtp, process, log_path, admin_token=token, env=env,
                    root=root)
        status, made = desk.api("POST", "/customers", {
            "code": CUSTOMER_CODE, "name": CUSTOMER_NAME, "classification": "key_account",
            "emails": list(CUSTOMER_EMAILS)})
        assert status == 201, made
        yield desk
    finally:
        if process is not None:
            _stop(process)
            keep = ARTIFACTS / "serve.log"
            keep.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / "serve.log", keep)
        if log is not None:
            log.close()
        smtp.stop()
        dovecot.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/ensure-test-services.sh "
                           "(installs the Debian package chromium)")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def new_context(browser: Browser, desk: Desk) -> Iterator[Callable[[], BrowserContext]]:
    """Makes browser contexts (one per person), English-speaking browsers at 1440x900;
    all closed when the test ends."""
    made: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(viewport=VIEWPORT, locale="en-US",  # type: ignore[arg-type]
                                      base_url=desk.base_url)
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def sign_in(page: Page, email: str, password: str = PASSWORD, lang: str | None = None
            ) -> None:
    """Through the login form, as a person does; ends on the page the desk sends them to."""
    page.goto("/login" + (f"?lang={lang}" if lang else ""))
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', password)
    with page.expect_navigation():
        page.click('form[action="/login"] button[type="submit"]')


def screenshot(page: Page, name: str, publish: bool = False) -> Path:
    """A full-page PNG in var/test-artifacts/screenshots/ (gitignored), every run.

    `publish` ones also go to docs/screenshots/ (committed, shown by the README) when
    missing there or when LEDGERDESK_UPDATE_SCREENSHOTS=1: their times and references
    differ on every run, and a test run should not leave committed files changed."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    published = DOCS_SCREENSHOTS / path.name
    if publish and (not published.exists() or os.environ.get(UPDATE_SCREENSHOTS) == "1"):
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, published)
    return path
