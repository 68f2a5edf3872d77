"""The `ledgerdesk` console script, run as a user runs it, on both stores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from ledgerdesk.config import Database
from ledgerdesk.keys import new_master_key
from ledgerdesk.persistence import event_store_env
from tests.support.mailservers import free_port


def database_url(store: Database) -> str:
    if store.kind == "sqlite":
        return f"sqlite:///{store.path}"
    return f"postgresql://{store.user}@{store.host}:{store.port}/{store.name}"


def ledgerdesk(
    store: Database, tmp_path: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, LEDGERDESK_DATABASE_URL=database_url(store), LEDGERDESK_DATA_DIR=str(tmp_path)
    )
    return subprocess.run(
        [sys.executable, "-m", "ledgerdesk.cli", *args],
        input=stdin,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_user_add_with_token_and_password(store: Database, tmp_path: Path) -> None:
    done = ledgerdesk(
        store,
        tmp_path,
        "user",
        "add",
        "Admin@Desk.cn",
        "--role",
        "admin",
        "--name",
        "管理员",
        "--password-stdin",
        "--token",
        stdin="s3cret-pass\n",
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.startswith("ld_") and "\n" not in token
    app = Ledgerdesk(env=event_store_env(store))
    try:
        assert app.authenticate_token(token).email == "admin@desk.cn"
        assert app.authenticate_password("admin@desk.cn", "s3cret-pass").name == "管理员"
    finally:
        app.close()


def test_user_add_errors_are_one_clear_line(store: Database, tmp_path: Path) -> None:
    assert (
        ledgerdesk(store, tmp_path, "user", "add", "a@desk.cn", "--role", "agent").returncode == 0
    )
    duplicate = ledgerdesk(store, tmp_path, "user", "add", "a@desk.cn", "--role", "agent")
    assert duplicate.returncode == 1
    assert duplicate.stderr.strip() == "ledgerdesk: a user with email a@desk.cn already exists"
    unknown = ledgerdesk(store, tmp_path, "user", "add", "b@desk.cn", "--role", "boss")
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert "role must be one of customer, customer_admin" in unknown.stderr
    no_customer = ledgerdesk(
        store, tmp_path, "user", "add", "c@x.cn", "--role", "customer", "--customer", "NOPE"
    )
    assert no_customer.returncode == 1 and "no customer 'NOPE'" in no_customer.stderr


def test_demo_loads_once_and_later_says_how_to_get_a_token(store: Database, tmp_path: Path) -> None:
    """`make run` twice: the first run loads the demo and prints the token the README's
    examples use, which works for them, the README's knowledge search included; the
    second serves the same store and says how to get a token, since none is printed."""
    first = run_demo(store, tmp_path, "first")
    token = first.split("export TOKEN=", 1)[1].split()[0]
    assert token.startswith("ld_")
    assert "API token" in first and "Traceback" not in first
    second = run_demo(store, tmp_path, "second", token=token)
    assert "not empty" in second and "Demo data loaded" not in second
    assert "user token agent@ledgerdesk.example" in second


def run_demo(store: Database, tmp_path: Path, name: str, token: str = "") -> str:
    """Runs `ledgerdesk demo` until it serves, checks the probes and, given a token,
    the README's API examples; returns what it printed."""
    port = free_port()
    output = tmp_path / f"demo-{name}.out"
    env = dict(os.environ, LEDGERDESK_DATABASE_URL=database_url(store),
               LEDGERDESK_DATA_DIR=str(tmp_path))
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledgerdesk.cli", "demo", "--port", str(port)],
            env=env, cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}/api/v1"
            wait_for(lambda: http_status(f"{base}/healthz") == 200, 60, "demo serving")
            assert http_status(f"{base}/readyz") in (200, 503)  # 503 while catching up
            printed = output.read_text()
            token = token or printed.split("export TOKEN=", 1)[1].split()[0]
            search = f"{base}/kb/search?{urllib.parse.urlencode({'q': '卡纸'})}"
            wait_for(lambda: "KB-0001" in http_body(search, token), 30, "the article indexed")
            assert http_status(f"{base}/inbox", token) == 200
        finally:
            process.terminate()
            process.wait(timeout=30)
    return output.read_text()


def http_body(url: str, token: str = "") -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=10) as answer:
            return str(answer.read().decode())
    except urllib.error.HTTPError as error:
        return str(error.read().decode())
    except OSError:
        return ""


def http_status(url: str, token: str = "") -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.25)


def test_customer_erase_and_a_wrong_master_key(store: Database, tmp_path: Path) -> None:
    app = Ledgerdesk(env=event_store_env(store))
    try:
        app.handle(RegisterCustomer("ZHAO", "赵敏", actor="admin@desk.cn",
                                    identities=[("email", "zhao@example.cn")]))
    finally:
        app.close()
    erased = ledgerdesk(store, tmp_path, "customer", "erase", "ZHAO", "--reason", "PIPL 42")
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout.startswith("erased ZHAO: their keys are destroyed")
    again = ledgerdesk(store, tmp_path, "customer", "erase", "ZHAO", "--reason", "PIPL 42")
    assert again.returncode == 1
    assert again.stderr.strip() == "ledgerdesk: customer ZHAO was erased already"
    unknown = ledgerdesk(store, tmp_path, "customer", "erase", "NOBODY", "--reason", "x")
    assert unknown.returncode == 1 and "no customer 'NOBODY'" in unknown.stderr

    exported = ledgerdesk(store, tmp_path, "audit", "export", "--customer", "ZHAO")
    assert exported.returncode == 0, exported.stderr
    assert "赵敏" not in exported.stdout and "zhao@example.cn" not in exported.stdout
    assert "Customer.Erased" in exported.stdout and "PIPL 42" in exported.stdout

    wrong = subprocess.run(
        [sys.executable, "-m", "ledgerdesk.cli", "projections", "status"],
        env=dict(os.environ, LEDGERDESK_DATABASE_URL=database_url(store),
                 LEDGERDESK_DATA_DIR=str(tmp_path), LEDGERDESK_MASTER_KEY=new_master_key()),
        cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2
    [line] = wrong.stderr.strip().splitlines()
    assert line.startswith("ledgerdesk: LEDGERDESK_MASTER_KEY does not open this key store")
