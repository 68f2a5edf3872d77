"""What a channel is: an adapter between the outside world and the application.

A channel turns what arrives (a mail, a chat message, a fax) into commands and
delivers what goes out through its `Sender`.  It never reads event streams;
whatever it needs to know it asks through commands or read models.  The
composition root builds the configured channels and runs, for each one:

- `sender()`: handed to the delivery policy, keyed by channel name;
- `loops()`: the inbound loops, each run in exactly one process at a time;
- `routes()`: HTTP endpoints it serves (a webhook, a gateway's upload), mounted
  under `/channels/<name>/` beside the API; each authenticates its caller itself
  (a secret header, a bearer token), since outside systems call them;
- `commands()`: its command-line subcommands (`ledgerdesk email poll`...); after one
  that records something, the CLI runs one pass of the policies.

Adding a channel is one folder under channels/ and one line in the composition
root's list of channel factories.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar

from starlette.routing import BaseRoute

from domain.delivery import Sender

Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


class ChannelConfigError(ValueError):
    """A channel's settings cannot work; the message names the setting and why."""


@dataclass(frozen=True)
class ChannelCommand:
    """One `ledgerdesk <channel> <name>` subcommand.  `run` returns the lines to
    print; the CLI runs the policies once after it, so what it recorded is
    acknowledged and what is due is delivered before the command exits."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], object]
    run: Callable[[Any, argparse.Namespace], Awaitable[list[str]]]  # (the channel, args)
    then_run_policies: bool = True


@dataclass
class Channel:
    name: ClassVar[str] = ""
    off_hint: ClassVar[str] = ""  # what to set when the channel is off and a command needs it
    own_addresses: tuple[str, ...] = field(default=(), kw_only=True)

    def sender(self) -> Sender | None:
        return None

    def loops(self) -> dict[str, Loop]:
        return {}

    def routes(self) -> list[BaseRoute]:
        return []

    @classmethod
    def commands(cls) -> list[ChannelCommand]:
        """Declared on the class: the CLI's parser exists before any channel is built."""
        return []
