"""The `ledgerdesk` console script, run as a user runs it, on both stores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from domain.application import Ledgerdesk
from ledgerdesk.config import Database
from ledgerdesk.persistence import event_store_env


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
