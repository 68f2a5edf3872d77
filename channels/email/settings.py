"""The email channel's settings, from the LEDGERDESK_IMAP_*, _SMTP_* and _MAIL_FROM keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Literal, cast

from channels.base import ChannelConfigError

TlsMode = Literal["none", "starttls", "ssl"]


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int = 143
    user: str = ""
    password: str = ""
    mailbox: str = "INBOX"
    tls: TlsMode = "none"
    processed_folder: str = "Processed"
    timeout: float = 30.0  # per command
    # RFC 2177 asks clients to re-issue IDLE within 29 minutes.
    idle_timeout: float = 25 * 60
    poll_interval: float = 60.0  # when the server has no IDLE
    fetch_batch: int = 50
    reconnect_initial: float = 1.0
    reconnect_max: float = 300.0


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    tls: TlsMode = "none"
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, smtp: Mapping[str, str]) -> SmtpConfig:
        tls = _tls(smtp, "SMTP")
        default_port = {"none": 25, "starttls": 587, "ssl": 465}[tls]
        return cls(host=smtp["host"], port=_port(smtp, "SMTP", default_port),
                   user=smtp.get("user", ""), password=smtp.get("password", ""), tls=tls)


def imap_config(imap: Mapping[str, str]) -> ImapConfig:
    if not imap.get("host"):
        raise ChannelConfigError("email ingest is off: set LEDGERDESK_IMAP_HOST")
    tls = _tls(imap, "IMAP")
    return ImapConfig(
        host=imap["host"], port=_port(imap, "IMAP", 993 if tls == "ssl" else 143),
        user=imap.get("user", ""), password=imap.get("password", ""),
        mailbox=imap.get("mailbox") or "INBOX", tls=tls,
    )


def message_id_domain(mail_from: str) -> str:
    """Our Message-IDs use the support address's domain."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2]
    return domain or "localhost"


def _tls(section: Mapping[str, str], name: str) -> TlsMode:
    tls = section.get("tls", "none").lower()
    if tls not in ("none", "starttls", "ssl"):
        raise ChannelConfigError(
            f"LEDGERDESK_{name}_TLS must be none, starttls or ssl, not {tls!r}")
    return cast(TlsMode, tls)


def _port(section: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(section.get("port") or default)
    except ValueError:
        raise ChannelConfigError(
            f"LEDGERDESK_{name}_PORT must be a number, not {section['port']!r}") from None
