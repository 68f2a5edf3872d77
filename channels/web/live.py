"""Live pages: Server-Sent Events fed by the projections' positions.

Every `serve` process runs the projections itself, so each process learns of
a change from its own read models: one watcher per process (only while
someone listens) reads the views' tracking positions each time the runner says
its views moved (`moved`, projections.runner.Wakeup; without one, every
`interval` seconds) and wakes every open stream when they did.  A page then fetches the part of
itself that changed.  A message recorded by another process reaches a page
held by this one as soon as this process has projected it: no process needs
to tell another anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from channels.web.pages import page
from channels.web.sessions import SessionUser
from projections.runner import Wakeup

log = logging.getLogger(__name__)

HEARTBEAT = 15.0  # seconds: keeps proxies from closing a quiet stream


class LiveFeed:
    def __init__(self, positions: Callable[[], tuple[int, ...]], interval: float = 0.1,
                 moved: Wakeup | None = None) -> None:
        self.positions = positions
        self.interval = interval
        self.moved = moved
        self.generation = 0
        self._changed: asyncio.Condition | None = None
        self._listeners = 0
        self._watcher: asyncio.Task[None] | None = None

    async def changes(self, stop: Callable[[], Awaitable[bool]]) -> AsyncIterator[int]:
        """Yields the generation at each change, and -1 at each heartbeat."""
        if self._changed is None:
            self._changed = asyncio.Condition()
        self._listeners += 1
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch())
        try:
            seen = self.generation
            while True:
                await self._wait_past(seen)
                if await stop():
                    return
                if self.generation != seen:
                    seen = self.generation
                    yield seen
                else:
                    yield -1
        finally:
            self._listeners -= 1

    async def _wait_past(self, generation: int) -> None:
        """Until the generation moves past `generation`, or a heartbeat is due."""
        assert self._changed is not None
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.generation != generation), HEARTBEAT)

    async def _watch(self) -> None:
        assert self._changed is not None
        rung = asyncio.Event()
        loop = asyncio.get_running_loop()
        if self.moved is not None:
            self.moved.subscribe(loop, rung)
        try:
            await self._watch_positions(rung)
        finally:
            if self.moved is not None:
                self.moved.unsubscribe(loop, rung)

    async def _watch_positions(self, rung: asyncio.Event) -> None:
        assert self._changed is not None
        last: tuple[int, ...] | None = None
        while self._listeners > 0:
            rung.clear()  # before reading: a ring while we read wakes the next wait
            now: tuple[int, ...] | None
            try:
                now = await run_in_threadpool(self.positions)
            except Exception:  # the store away for a moment: say nothing, ask again
                log.warning("live feed: positions unreadable", exc_info=True)
                now = last
            if last is not None and now is not None and now != last:
                async with self._changed:
                    self.generation += 1
                    self._changed.notify_all()
            last = now
            if self.moved is None:
                await asyncio.sleep(self.interval)
            else:
                with contextlib.suppress(TimeoutError):
                    # The timeout only lets a watcher nobody listens to any more end.
                    await asyncio.wait_for(rung.wait(), HEARTBEAT)


def live_routes(feed: LiveFeed) -> list[Route]:
    async def events(request: Request, user: SessionUser) -> Response:
        async def stream() -> AsyncIterator[str]:
            yield "retry: 2000\n\n"
            async for generation in feed.changes(request.is_disconnected):
                if generation < 0:
                    yield ": still here\n\n"
                else:
                    yield f"event: change\ndata: {json.dumps({'generation': generation})}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return [page("/live", events)]
