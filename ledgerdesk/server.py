"""`ledgerdesk serve`: the web app, the projections, and the background jobs.

Every process serves HTTP and runs the projections; the channel loops and the
policies run in whichever process holds their lock (ledgerdesk.leadership).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from channels.email.notify import notifier
from ledgerdesk.asgi import create_app
from ledgerdesk.bootstrap import Services
from ledgerdesk.runtime import Runtime
from ledgerdesk.wakeup import Doorbells
from projections.runner import ProjectionThread, Wakeup
from read_api.app import projection_report

log = logging.getLogger(__name__)

# /readyz says "not ready" past this many unprojected events.
READY_LAG = 1000


def serve(services: Services, host: str, port: int) -> None:
    runtime = Runtime(services)
    # The runner sleeps until the log moves (ledgerdesk.wakeup), and the live
    # pages until its views moved: no polling while idle.
    wakeup = Wakeup()
    doorbells = Doorbells(wakeup, services.app, services.settings.database)
    runner = ProjectionThread(runtime.models.projectors, wakeup=wakeup)
    runner.start()

    def readiness() -> tuple[bool, dict[str, Any]]:
        return readiness_report(runner, sorted(runtime.leadership.held))

    asgi = create_app(services.app, runtime.models, readiness, lifespan=_jobs(runtime),
                      access_log=runtime.access_log, secret_key=services.settings.secret_key,
                      secure_cookies=services.settings.public_url.startswith("https://"),
                      blobs=services.blobs, channel_routes=channel_routes(services),
                      send_mail=notifier(services.settings.smtp, services.settings.mail_from),
                      public_url=services.settings.public_url,
                      reopen_days=services.settings.reopen_days, views_moved=runner.moved)
    try:
        uvicorn.run(asgi, host=host, port=port, log_level="info")
    finally:
        runner.stop()
        doorbells.close()
        runtime.close()


def channel_routes(services: Services) -> list[BaseRoute]:
    """Each channel's own endpoints, under /channels/<name>/."""
    return [Mount(f"/channels/{channel.name}", routes=routes)
            for channel in services.channels if (routes := channel.routes())]


def readiness_report(runner: ProjectionThread, running: list[str]) -> tuple[bool, dict[str, Any]]:
    """/readyz for this process.  Anyone may ask (a load balancer sends no token),
    so it holds positions, counts and names only, never an exception's text,
    which can name hosts, tables or customer data (that text is in the log)."""
    report = projection_report(runner.projectors)
    stalled = sorted(runner.failures)  # views whose last batch failed
    ready = (runner.is_alive() and not stalled
             and max(report["lag"].values(), default=0) < READY_LAG)
    return ready, {**report, "stalled": stalled, "running": running}


def _jobs(runtime: Runtime) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    """Background jobs run inside the server's event loop for the server's lifetime."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        jobs = asyncio.create_task(runtime.run_jobs(stop))
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(jobs, timeout=15)

    return lifespan
