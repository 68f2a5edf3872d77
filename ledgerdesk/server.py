"""`ledgerdesk serve`: the API and the projection runner in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import uvicorn
from starlette.applications import Starlette

from channels.email.service import run_email
from ledgerdesk.bootstrap import Services
from projections.registry import open_read_models
from projections.runner import ProjectionThread
from read_api.app import create_app

log = logging.getLogger(__name__)

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

    asgi = create_app(services.app, models, readiness, lifespan=_channels(services))
    try:
        uvicorn.run(asgi, host=host, port=port, log_level="info")
    finally:
        runner.stop()
        models.close()


def _channels(
    services: Services,
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    """Channel loops run inside the server's event loop for the server's lifetime."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        email = asyncio.create_task(
            _logged(run_email(services.app, services.blobs, services.settings, stop))
        )
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(email, timeout=10)

    return lifespan


async def _logged(loop: Coroutine[Any, Any, None]) -> None:
    """A channel that fails (bad configuration, say) is logged at once, not
    discovered at shutdown; the API keeps serving."""
    try:
        await loop
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("email channel stopped")
