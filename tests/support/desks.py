"""What many integration tests set up: the settings of a test's store, and a desk
— the app with its read models and the ASGI app over them — with API clients (a
fresh bearer token) and signed-in browsers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.users.commands import IssueToken
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections.registry import open_read_models

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD, **extra: str) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token, **extra}, follow_redirects=False)


def desk_settings(store: Database, tmp_path: Path, **changes: Any) -> Settings:
    """Settings for a test: its store, its folder, fixed keys; `changes` on top."""
    return Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                    secret_key="k", **changes)


class WebDesk:
    """`cache_clients`: `api(email)` gives the same client (one token) each time;
    else each call issues a new token."""

    cache_clients: ClassVar[bool] = False

    def __init__(self, app: Ledgerdesk, settings: Settings, **asgi: Any) -> None:
        self.app = app
        self.models = open_read_models(settings, app)
        self.asgi = create_app(app, self.models, secret_key="s", **asgi)
        self.clients: dict[str, TestClient] = {}

    def project(self) -> None:
        for projector in self.models.projectors:
            projector.catch_up()

    def api(self, email: str) -> TestClient:
        if self.cache_clients and email in self.clients:
            return self.clients[email]
        token = self.app.handle(IssueToken(email, actor="setup"))
        client = TestClient(self.asgi, headers={"Authorization": f"Bearer {token}"})
        if self.cache_clients:
            self.clients[email] = client
        return client

    def browser(self, email: str) -> TestClient:
        client = TestClient(self.asgi, headers={"Accept-Language": "en"})
        sign_in(client, email)
        return client
