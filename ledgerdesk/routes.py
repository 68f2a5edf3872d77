"""One route per path: a read (read_api) and a command (channels.web.api) may
share a path, e.g. GET and POST /service-requests/{ref}/complaint.

Starlette answers a method no route takes with the Allow header of the first
route whose path matched, so a path served by two routes would report half of
its methods.  `joined` merges such routes into one that dispatches by method
and lists all of them in its 405."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send


class _Joined(Route):
    def __init__(self, routes: Sequence[Route]) -> None:
        self.parts = list(routes)
        methods = sorted({m for r in self.parts for m in (r.methods or ())} - {"HEAD"})

        async def unreachable(request: Request) -> Response:  # handle() dispatches first
            raise AssertionError("a joined route dispatches to its parts")

        super().__init__(self.parts[0].path, unreachable, methods=methods)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "")
        for route in self.parts:
            if method in (route.methods or ()):
                await route.handle(scope, receive, send)
                return
        await super().handle(scope, receive, send)  # the 405, with every method in Allow


def joined(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    shared: dict[str, list[Route]] = {}
    for route in routes:
        if isinstance(route, Route):
            shared.setdefault(route.path, []).append(route)
    found: list[BaseRoute] = []
    for route in routes:
        if not isinstance(route, Route) or len(shared[route.path]) == 1:
            found.append(route)
        elif shared[route.path][0] is route:
            found.append(_Joined(shared[route.path]))
    return found
