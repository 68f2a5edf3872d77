"""Failed sign-ins, counted per account and per address, for throttling.

Kept beside the access log (the same SQLite file or PostgreSQL database, a
table of its own), so every `serve` process counts the same failures: with N
processes an attacker does not get N times the guesses.  Rows hold a keyed
hash of the account and of the address, never the address itself, and are
dropped once they are older than the window.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS login_failures (
        subject TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS login_failures_subject ON login_failures (subject, at)",
)


@dataclass(frozen=True)
class Limits:
    window: timedelta = timedelta(minutes=15)
    per_account: int = 5
    per_address: int = 20


class LoginAttempts:
    def __init__(self, transaction: Any, secret: str, limits: Limits | None = None) -> None:
        # transaction(write: bool) -> context manager yielding a projections.view.Db
        self._transaction = transaction
        self._secret = secret.encode()
        self.limits = limits or Limits()
        with self._transaction(write=True) as db:
            for statement in SCHEMA:
                db.execute(statement)

    def _subject(self, kind: str, value: str) -> str:
        return kind + ":" + hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()

    def blocked(self, account: str, address: str, now: datetime | None = None) -> bool:
        """Whether a sign-in for this account from this address must wait."""
        since = _iso((now or datetime.now(UTC)) - self.limits.window)
        with self._transaction(write=False) as db:
            def count(subject: str) -> int:
                row = db.one("SELECT COUNT(*) AS n FROM login_failures "
                             "WHERE subject = ? AND at >= ?", (subject, since))
                return int(row["n"]) if row else 0

            return (count(self._subject("account", account.lower())) >= self.limits.per_account
                    or count(self._subject("address", address)) >= self.limits.per_address)

    def failed(self, account: str, address: str, now: datetime | None = None) -> None:
        at = now or datetime.now(UTC)
        with self._transaction(write=True) as db:
            db.execute("DELETE FROM login_failures WHERE at < ?", (_iso(at - self.limits.window),))
            for subject in (self._subject("account", account.lower()),
                            self._subject("address", address)):
                db.execute("INSERT INTO login_failures (subject, at) VALUES (?, ?)",
                           (subject, _iso(at)))

    def succeeded(self, account: str) -> None:
        """A right password clears the account's count (not the address's)."""
        with self._transaction(write=True) as db:
            db.execute("DELETE FROM login_failures WHERE subject = ?",
                       (self._subject("account", account.lower()),))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
