"""`ledgerdesk serve`: the API and the projection runner in one process."""

from __future__ import annotations

from typing import Any

import uvicorn

from ledgerdesk.bootstrap import Services
from projections.registry import open_read_models
from projections.runner import ProjectionThread
from read_api.app import create_app

# /readyz says "not ready" past this many unprojected events.
READY_LAG = 1000


def serve(services: Services, host: str, port: int) -> None:
    models = open_read_models(services.settings, services.app)
    runner = ProjectionThread(models.projectors)
    runner.start()

    def readiness() -> tuple[bool, dict[str, Any]]:
        lag = {p.name: p.status().lag for p in models.projectors}
        ready = runner.is_alive() and not runner.failures and max(lag.values()) < READY_LAG
        return ready, {"lag": lag, "failures": runner.failures}

    try:
        uvicorn.run(create_app(services.app, models, readiness), host=host, port=port,
                    log_level="info")
    finally:
        runner.stop()
        models.close()


