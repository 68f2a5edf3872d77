"""What every `ledgerdesk` command uses: the services opened and always closed,
the read models, one-line failures."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psycopg
from eventsourcing.persistence import IntegrityError

from ledgerdesk.bootstrap import Services, bootstrap
from ledgerdesk.config import load_settings
from ledgerdesk.persistence import check_reachable
from projections.registry import ReadModels, open_read_models
from projections.storage import ViewStorage

CLI_ACTOR = "cli"


def fail(message: str, status: int = 1) -> int:
    print(f"ledgerdesk: {message}", file=sys.stderr)
    return status


def command_name() -> str:
    """How this program was run, for hints the user can paste (`make run` runs
    .venv/bin/ledgerdesk, which is not on the PATH)."""
    invoked = sys.argv[0] if sys.argv else ""
    return invoked if Path(invoked).name == "ledgerdesk" else "ledgerdesk"


CATCH_UP_ATTEMPTS = 10


def caught_up(models: ReadModels, name: str) -> ViewStorage:
    """The view, brought up to date before a report reads it.  A `serve` beside us
    projects the same view: when it commits a batch first, ours is refused as a
    duplicate, and the next try starts after the batch it wrote."""
    for attempt in range(1, CATCH_UP_ATTEMPTS + 1):
        try:
            models.projector(name).catch_up()
            break
        except (IntegrityError, psycopg.IntegrityError):
            if attempt == CATCH_UP_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
    return models[name]


class opened_models:
    def __init__(self, services: Services) -> None:
        self.services = services

    def __enter__(self) -> ReadModels:
        self.models = open_read_models(self.services.settings, self.services.app)
        return self.models

    def __exit__(self, *exc: object) -> None:
        self.models.close()


class opened_services:
    """`with opened_services() as s:` builds the services and always closes them."""

    def __enter__(self) -> Services:
        settings = load_settings()
        check_reachable(settings.database)  # a store that is down: say so at once
        self.services = bootstrap(settings)
        return self.services

    def __exit__(self, *exc: object) -> None:
        self.services.close()
