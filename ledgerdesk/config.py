"""Settings: environment variables, optionally a `ledgerdesk.toml` with the same keys.

The environment wins over the file.  Keys in the file may be written either as
`LEDGERDESK_DATABASE_URL` or as `database_url`.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from domain.complaints.policy import ComplaintSettings
from domain.private_files import publish_private_file
from domain.routing.settings import RoutingSettings
from domain.settlement.rates import SettlementRates
from domain.sla.policy import SlaSettings
from ledgerdesk.complaint_config import ComplaintConfigError, complaint_settings
from ledgerdesk.routing_config import RoutingConfigError, routing_settings
from ledgerdesk.settlement_config import SettlementConfigError, settlement_rates
from ledgerdesk.sla_config import SlaConfigError, sla_settings

PREFIX = "LEDGERDESK_"

log = logging.getLogger(__name__)
T = TypeVar("T")


class ConfigError(Exception):
    """The configuration cannot work; the message says which key and why."""


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite" | "postgresql"
    path: Path | None = None  # sqlite
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = ""
    password: str = ""
    name: str = ""

    @classmethod
    def from_url(cls, url: str) -> Database:
        parsed = urlparse(url)
        if parsed.scheme == "sqlite":
            # sqlite:///relative/path.db and sqlite:////absolute/path.db
            raw = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
            if not raw:
                raise ConfigError(f"LEDGERDESK_DATABASE_URL {url!r}: expected sqlite:///path/file.db")
            return cls(kind="sqlite", path=Path(unquote(raw)))
        if parsed.scheme in ("postgresql", "postgres"):
            name = parsed.path.lstrip("/")
            if not name:
                raise ConfigError(f"LEDGERDESK_DATABASE_URL {url!r}: the database name is missing")
            return cls(
                kind="postgresql",
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or 5432,
                user=unquote(parsed.username or ""),
                password=unquote(parsed.password or ""),
                name=name,
            )
        raise ConfigError(
            f"LEDGERDESK_DATABASE_URL {url!r}: use sqlite:///path/file.db or postgresql://…"
        )


@dataclass(frozen=True)
class Settings:
    database: Database
    data_dir: Path
    blob_dir: Path
    secret_key: str
    mail_from: str = "support@localhost"
    max_upload_bytes: int = 25 * 1024 * 1024
    imap: dict[str, str] = field(default_factory=dict)
    smtp: dict[str, str] = field(default_factory=dict)
    telegram_token: str = ""
    telegram_base_url: str = ""
    # Webhook mode when set (channels.chat): Telegram posts updates there, with the secret.
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    fax_inbox: Path | None = None
    ocr_langs: str = "chi_sim+eng"
    fax_gateway_from: str = ""  # comma-separated addresses of fax-to-mail gateways
    # Unwraps every customer's data key (ledgerdesk.keys); "" = the environment's
    # or the one generated beside a SQLite database (ledgerdesk.persistence).
    master_key: str = ""
    # Where people reach the desk (e.g. https://desk.example.cn); https makes
    # the session cookie Secure.
    public_url: str = ""
    # How long after its last activity a customer may reopen a request in the portal.
    reopen_days: int = 14
    # SLA targets, business hours and the hand-over timer: the file's [sla] table.
    sla: SlaSettings = field(default_factory=SlaSettings)
    # Complaints' suggested completion times and departments: [complaints].
    complaints: ComplaintSettings = field(default_factory=ComplaintSettings)
    # Where new requests go: the file's [routing] table (ledgerdesk.routing_config).
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    # Engineers' pay per completed job by mode and distance: the file's [settlement].
    settlement: SettlementRates = field(default_factory=SettlementRates)

    @property
    def email_ingest_enabled(self) -> bool:
        return bool(self.imap.get("host"))

    @property
    def email_delivery_enabled(self) -> bool:
        return bool(self.smtp.get("host"))


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    path = config_file or Path("ledgerdesk.toml")
    data = _file_data(path)
    values = _file_values(data)
    values.update({k: v for k, v in (os.environ if environ is None else environ).items()
                   if k.startswith(PREFIX)})

    def get(key: str, default: str = "") -> str:
        return str(values.get(PREFIX + key, default))

    database = Database.from_url(get("DATABASE_URL", "sqlite:///var/ledgerdesk.db"))
    data_dir = Path(get("DATA_DIR") or (database.path.parent if database.path else "var"))
    blob_dir = Path(get("BLOB_DIR") or data_dir / "blobs")
    return Settings(
        database=database,
        data_dir=data_dir,
        blob_dir=blob_dir,
        secret_key=get("SECRET_KEY") or _generated_secret(data_dir),
        mail_from=get("MAIL_FROM", "support@localhost"),
        max_upload_bytes=_int(get("MAX_UPLOAD_BYTES", str(25 * 1024 * 1024)), "MAX_UPLOAD_BYTES"),
        imap=_section(values, "IMAP_", ("HOST", "PORT", "USER", "PASSWORD", "MAILBOX", "TLS")),
        smtp=_section(values, "SMTP_", ("HOST", "PORT", "USER", "PASSWORD", "TLS")),
        telegram_token=get("TELEGRAM_TOKEN"),
        telegram_base_url=get("TELEGRAM_BASE_URL"),
        telegram_webhook_url=get("TELEGRAM_WEBHOOK_URL"),
        telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET"),
        fax_inbox=Path(get("FAX_INBOX")) if get("FAX_INBOX") else None,
        ocr_langs=get("OCR_LANGS", "chi_sim+eng"),
        fax_gateway_from=get("FAX_GATEWAY_FROM"),
        master_key=get("MASTER_KEY") or generated_master_key(data_dir),
        public_url=get("PUBLIC_URL"),
        reopen_days=_int(get("REOPEN_DAYS", "14"), "REOPEN_DAYS"),
        sla=(sla := _table(path, SlaConfigError, lambda: sla_settings(data.get("sla")))),
        complaints=_table(path, ComplaintConfigError,
                          lambda: complaint_settings(data.get("complaints"), sla)),
        routing=_table(path, RoutingConfigError, lambda: routing_settings(data.get("routing"))),
        settlement=_table(path, SettlementConfigError,
                          lambda: settlement_rates(data.get("settlement"))),
    )


def _file_data(path: Path) -> dict[str, Any]:
    """The file's TOML, read once for its flat keys and its tables; none: empty."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: {e}") from None


def _table(path: Path, error: type[Exception], read: Callable[[], T]) -> T:
    """One of the file's tables (not flat keys, so each has its reader: ledgerdesk's
    sla_config, complaint_config, ...); the reader's complaint names the file."""
    try:
        return read()
    except error as e:
        raise ConfigError(f"{path}: {e}") from None


def _file_values(data: Mapping[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            continue  # a table such as [sla] has its own reader
        name = key.upper()
        values[name if name.startswith(PREFIX) else PREFIX + name] = str(value)
    return values


def _section(values: Mapping[str, str], prefix: str, keys: tuple[str, ...]) -> dict[str, str]:
    found = {key.lower(): values.get(PREFIX + prefix + key, "") for key in keys}
    return {key: value for key, value in found.items() if value}


def _int(raw: str, key: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{key} must be a whole number, not {raw!r}") from None


def generated_master_key(data_dir: Path) -> str:
    """The master key of personal data (ledgerdesk.keys) when LEDGERDESK_MASTER_KEY
    is unset: generated once into the data folder, 0600, with a warning, because
    losing it makes every customer's data unreadable."""
    path = data_dir / "master_key"
    if not path.exists():
        key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        if publish_private_file(path, key):
            log.warning("generated the master key at %s; back it up apart from the database "
                        "(without it no customer's personal data can be read), or set "
                        "LEDGERDESK_MASTER_KEY", path)
    return path.read_text().strip()


def _generated_secret(data_dir: Path) -> str:
    """The session key, generated once into the data directory and reused.  The
    file is 0600 from its first byte (and the folder 0700 when we create it): a
    key that was world-readable even for a moment is not a secret."""
    path = data_dir / "secret_key"
    if not path.exists():
        # When two processes start together, the first to publish wins and both use its key.
        publish_private_file(path, secrets.token_urlsafe(48))
    return path.read_text().strip()
