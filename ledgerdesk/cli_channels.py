"""`ledgerdesk <channel> ...`: the subcommands each channel type declares."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from channels.base import Channel, ChannelCommand
from ledgerdesk.bootstrap import CHANNEL_TYPES
from ledgerdesk.cli_common import opened_services
from ledgerdesk.config import ConfigError
from ledgerdesk.runtime import Runtime


def add_channels_commands(commands: Any) -> None:
    for channel_type in CHANNEL_TYPES:
        specs = channel_type.commands()
        if not specs:
            continue
        group = commands.add_parser(channel_type.name, help=f"the {channel_type.name} channel")
        sub = group.add_subparsers(title=f"{channel_type.name} commands")
        for spec in specs:
            command = sub.add_parser(spec.name, help=spec.help)
            spec.configure(command)
            command.set_defaults(handler=_channel_command(channel_type, spec))


def _channel_command(
    channel_type: type[Channel], spec: ChannelCommand
) -> Callable[[argparse.Namespace], int]:
    """A channel's subcommand, run with the policies beside it (so what it records
    is acknowledged and delivered), and one last pass of them when it ends."""

    def handler(args: argparse.Namespace) -> int:
        with opened_services() as services:
            channel = services.channel(channel_type.name)
            if channel is None:
                hint = channel_type.off_hint or f"the {channel_type.name} channel is off"
                raise ConfigError(hint)
            runtime = Runtime(services)
            try:
                lines = asyncio.run(_with_policies(runtime, spec, channel, args))
            finally:
                runtime.close()
        for line in lines:
            print(line)
        return 0

    return handler


async def _with_policies(
    runtime: Runtime, spec: ChannelCommand, channel: object, args: argparse.Namespace
) -> list[str]:
    if getattr(args, "once", None) is False:
        # Without --once a channel command is a worker: the channel's loops and the
        # policies, each under its lock, until interrupted.
        await runtime.run_jobs(asyncio.Event())
        return []
    lines = await spec.run(channel, args)
    if spec.then_run_policies:
        delivered = await runtime.policies_once()
        lines.insert(1 if lines else 0, f"acknowledged {runtime.acknowledgements.queued}, "
                                        f"delivered {delivered}")
    return lines
