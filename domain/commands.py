"""What a command is, and how a context registers the handler of each of its commands.

A command is a frozen dataclass naming one intent ("open a request", "queue a
reply"); every entry point (HTTP, CLI, console, portal, each channel) builds
the same objects and hands them to `Ledgerdesk.handle`.  A handler is a plain
function of the shared `Store` and the command; it validates, changes
aggregates and saves, or raises a DomainError.  Contexts keep their own
`Handlers` table; the application merges them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from domain.store import Store

C = TypeVar("C")
Handler = Callable[[Store, Any], Any]


class Handlers:
    """A context's table of command type -> handler, filled by decorating."""

    def __init__(self) -> None:
        self.by_command: dict[type, Handler] = {}

    def __call__(self, command_type: type[C]) -> Callable[[Callable[[Store, C], Any]],
                                                           Callable[[Store, C], Any]]:
        def register(handler: Callable[[Store, C], Any]) -> Callable[[Store, C], Any]:
            if command_type in self.by_command:
                raise TypeError(f"{command_type.__name__} has two handlers")
            self.by_command[command_type] = handler
            return handler

        return register


def merged(*tables: Handlers) -> dict[type, Handler]:
    found: dict[type, Handler] = {}
    for table in tables:
        overlap = found.keys() & table.by_command.keys()
        if overlap:
            raise TypeError(f"commands handled twice: {sorted(t.__name__ for t in overlap)}")
        found.update(table.by_command)
    return found
