"""Accounts: admins list users, deactivate them and revoke tokens, over HTTP and on
the command line; a revoked token or a deactivated user is refused at once, in
every process, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.errors import PermissionDenied
from domain.passwords import parse_token
from domain.users.commands import AddUser, DeactivateUser, IssueToken, RevokeToken
from ledgerdesk import demo
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from ledgerdesk.persistence import event_store_env
from projections.registry import open_read_models
from tests.integration.test_cli import ledgerdesk
from tests.integration.test_read_api import call

ADMIN = "admin@ledgerdesk.example"
AGENT = "agent@ledgerdesk.example"
CUSTOMER = "li.wei@huaxin.example.cn"


@pytest.fixture
def api(
    store: Database, app: Ledgerdesk, tmp_path: Path
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b", secret_key="k")
    tokens = demo.load(app)
    models = open_read_models(settings, app)
    with TestClient(create_app(app, models)) as client:
        yield client, tokens
    models.close()


def token_id(token: str) -> str:
    parsed = parse_token(token)
    assert parsed is not None
    return parsed[1]


def test_admins_list_every_user_with_state_and_token_ids(api: Any) -> None:
    client, tokens = api
    answer = call(client, tokens[ADMIN], "GET", "/users")
    assert answer.status_code == 200
    users = {u["email"]: u for u in answer.json()["items"]}
    assert set(users) == set(tokens)
    assert users[CUSTOMER] == {
        "email": CUSTOMER, "name": "li.wei", "roles": ["customer"], "customer_code": "HUAXIN",
        "active": True, "tokens": [token_id(tokens[CUSTOMER])],
    }
    assert "ld_" not in answer.text  # ids only: a token itself is never shown again


@pytest.mark.parametrize("who", [AGENT, "manager@ledgerdesk.example", "auditor@ledgerdesk.example",
                                 CUSTOMER])
def test_only_admins_manage_users(api: Any, who: str) -> None:
    client, tokens = api
    assert call(client, tokens[who], "GET", "/users").status_code == 403
    assert call(client, tokens[who], "POST", f"/users/{AGENT}/deactivate", json={}).status_code \
        == 403
    revoke = f"/users/{AGENT}/tokens/{token_id(tokens[AGENT])}/revoke"
    assert call(client, tokens[who], "POST", revoke, json={}).status_code == 403
    assert client.get("/api/v1/users").status_code == 401
    assert call(client, tokens[AGENT], "GET", "/inbox").status_code == 200  # nothing changed


def test_a_revoked_token_is_refused_at_once(api: Any, app: Ledgerdesk) -> None:
    client, tokens = api
    second = app.handle(IssueToken(AGENT, actor="t"))
    assert call(client, tokens[AGENT], "GET", "/inbox").status_code == 200
    revoked = call(client, tokens[ADMIN], "POST",
                   f"/users/{AGENT.upper()}/tokens/{token_id(tokens[AGENT])}/revoke", json={})
    assert revoked.status_code == 200
    assert revoked.json() == {"email": AGENT, "token_id": token_id(tokens[AGENT]), "revoked": True}
    refused = call(client, tokens[AGENT], "GET", "/inbox")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
    assert call(client, second, "GET", "/inbox").status_code == 200  # only that one token
    listed = {u["email"]: u for u in call(client, tokens[ADMIN], "GET", "/users").json()["items"]}
    assert listed[AGENT]["tokens"] == [token_id(second)]
    again = call(client, tokens[ADMIN], "POST",
                 f"/users/{AGENT}/tokens/{token_id(tokens[AGENT])}/revoke", json={})
    assert again.status_code == 404


def test_a_deactivated_user_is_refused_at_once(api: Any, app: Ledgerdesk) -> None:
    client, tokens = api
    answer = call(client, tokens[ADMIN], "POST", f"/users/{CUSTOMER}/deactivate", json={})
    assert answer.status_code == 200 and answer.json() == {"email": CUSTOMER, "active": False}
    assert call(client, tokens[CUSTOMER], "GET", "/kb/search?q=J-17").status_code == 401
    with pytest.raises(PermissionDenied):
        app.authenticate_password(CUSTOMER, demo.DEMO_PASSWORD)
    listed = {u["email"]: u for u in call(client, tokens[ADMIN], "GET", "/users").json()["items"]}
    assert listed[CUSTOMER]["active"] is False and listed[CUSTOMER]["tokens"] == []
    assert call(client, tokens[ADMIN], "POST", f"/users/{CUSTOMER}/deactivate",
                json={}).status_code == 200  # already done: nothing more to do


def test_user_commands_name_what_is_wrong(api: Any) -> None:
    client, tokens = api
    admin = tokens[ADMIN]
    unknown_user = call(client, admin, "POST", "/users/nobody@x.cn/deactivate", json={})
    assert unknown_user.status_code == 404
    extra = call(client, admin, "POST", f"/users/{AGENT}/deactivate", json={"why": "x"})
    assert extra.status_code == 400 and list(extra.json()["error"]["fields"]) == ["why"]
    assert call(client, tokens[AGENT], "GET", "/inbox").status_code == 200


def test_every_process_refuses_at_once(store: Database, app: Ledgerdesk) -> None:
    """Another process (here a second application with its own aggregate cache)
    that has just accepted a token refuses it on the next request once it is
    revoked, and the user's password once the user is deactivated."""
    app.handle(AddUser("a@desk.cn", ["agent"], actor="t", password="long-enough-pw"))
    token = app.handle(IssueToken("a@desk.cn", actor="t"))
    other_process = Ledgerdesk(env=event_store_env(store))
    try:
        assert other_process.authenticate_token(token).email == "a@desk.cn"
        app.handle(RevokeToken("a@desk.cn", token_id(token), actor="admin"))
        with pytest.raises(PermissionDenied):
            other_process.authenticate_token(token)
        fresh = app.handle(IssueToken("a@desk.cn", actor="t"))
        assert other_process.authenticate_token(fresh).email == "a@desk.cn"
        assert other_process.authenticate_password("a@desk.cn", "long-enough-pw")
        app.handle(DeactivateUser("a@desk.cn", actor="admin"))
        with pytest.raises(PermissionDenied):
            other_process.authenticate_token(fresh)
        with pytest.raises(PermissionDenied):
            other_process.authenticate_password("a@desk.cn", "long-enough-pw")
    finally:
        other_process.close()


def test_user_list_revoke_token_and_deactivate_on_the_command_line(
    store: Database, tmp_path: Path
) -> None:
    added = ledgerdesk(store, tmp_path, "user", "add", "Ops@Desk.cn", "--role", "admin", "--token")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    first_id = token_id(token)
    assert f"ledgerdesk user revoke-token ops@desk.cn {first_id}" in added.stderr
    issued = ledgerdesk(store, tmp_path, "user", "token", "ops@desk.cn")
    assert issued.returncode == 0 and issued.stdout.count("\n") == 1  # the token alone
    second_id = token_id(issued.stdout.strip())
    assert f"token id {second_id}" in issued.stderr
    assert ledgerdesk(store, tmp_path, "user", "add", "c@desk.cn", "--role", "auditor").returncode \
        == 0

    listed = ledgerdesk(store, tmp_path, "user", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        f"ops@desk.cn\tadmin\t-\tactive\t{','.join(sorted([first_id, second_id]))}",
        "c@desk.cn\tauditor\t-\tactive\t-",
    ]

    revoked = ledgerdesk(store, tmp_path, "user", "revoke-token", "ops@desk.cn", first_id)
    assert revoked.returncode == 0, revoked.stderr
    again = ledgerdesk(store, tmp_path, "user", "revoke-token", "ops@desk.cn", first_id)
    assert again.returncode == 1
    assert again.stderr == f"ledgerdesk: ops@desk.cn has no token {first_id}\n"
    deactivated = ledgerdesk(store, tmp_path, "user", "deactivate", "ops@desk.cn")
    assert deactivated.returncode == 0, deactivated.stderr
    assert ledgerdesk(store, tmp_path, "user", "list").stdout.splitlines()[0] == (
        "ops@desk.cn\tadmin\t-\tdeactivated\t-")
    nobody = ledgerdesk(store, tmp_path, "user", "deactivate", "nobody@desk.cn")
    assert nobody.returncode == 1 and nobody.stderr == "ledgerdesk: no user 'nobody@desk.cn'\n"

    app = Ledgerdesk(env=event_store_env(store))
    try:
        for refused in (token, issued.stdout.strip()):
            with pytest.raises(PermissionDenied):
                app.authenticate_token(refused)
    finally:
        app.close()
