"""pytest fixtures for the real mail servers; the root conftest loads them via pytest_plugins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .mailservers import Dovecot, RecordingSMTPServer


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A running private Dovecot with an empty INBOX; removed with its mail afterwards."""
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def smtp_server() -> Iterator[RecordingSMTPServer]:
    """A running SMTP relay on a free loopback port that records every message it accepts."""
    server = RecordingSMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
