from __future__ import annotations

from pathlib import Path

import pytest

from ledgerdesk.config import ConfigError, load_settings


def test_defaults_use_embedded_sqlite_under_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.database.kind == "sqlite"
    assert settings.database.path == Path("var/ledgerdesk.db")
    assert settings.blob_dir == Path("var/blobs")
    assert not settings.email_ingest_enabled
    # The generated secret is kept, so sessions survive a restart.
    assert load_settings({}).secret_key == settings.secret_key


def test_postgres_url_and_toml_file(tmp_path: Path) -> None:
    toml = tmp_path / "ledgerdesk.toml"
    toml.write_text('mail_from = "help@acme.cn"\nLEDGERDESK_IMAP_HOST = "mail"\n')
    settings = load_settings(
        {
            "LEDGERDESK_DATABASE_URL": "postgresql://u:p%40ss@db:6543/desk",
            "LEDGERDESK_SECRET_KEY": "k",
            "LEDGERDESK_DATA_DIR": str(tmp_path),
        },
        config_file=toml,
    )
    db = settings.database
    assert (db.kind, db.host, db.port, db.user, db.password, db.name) == (
        "postgresql",
        "db",
        6543,
        "u",
        "p@ss",
        "desk",
    )
    assert settings.mail_from == "help@acme.cn"
    assert settings.imap == {"host": "mail"}


@pytest.mark.parametrize("url", ["mysql://x/y", "postgresql://host/", "sqlite://"])
def test_unusable_database_url_names_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match="LEDGERDESK_DATABASE_URL"):
        load_settings({"LEDGERDESK_DATABASE_URL": url, "LEDGERDESK_SECRET_KEY": "k"})
