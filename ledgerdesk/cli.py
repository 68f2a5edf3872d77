"""`ledgerdesk` on the command line.  A user's mistake prints one line to stderr
and exits non-zero, and so does trouble with the machine (a store that is down,
locked or unreadable, a port in use); a reader that stops reading (`| head`)
ends the command quietly.  Only a bug shows a traceback."""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Sequence

import psycopg
from eventsourcing.persistence import PersistenceError

from channels.base import ChannelConfigError
from domain.errors import DomainError
from domain.sealing import KeyMissing, KeyStoreError
from ledgerdesk.cli_audit import add_audit_commands
from ledgerdesk.cli_channels import add_channels_commands
from ledgerdesk.cli_common import fail
from ledgerdesk.cli_data import add_data_commands
from ledgerdesk.cli_projections import add_projections_commands
from ledgerdesk.cli_server import add_server_commands
from ledgerdesk.cli_users import add_users_commands
from ledgerdesk.config import ConfigError

# What the machine, not the user, got wrong: a store that is down, locked or
# unreadable, a file we may not open.  One line on stderr, like a user's mistake.
OPERATIONAL_ERRORS: tuple[type[BaseException], ...] = (
    OSError, PersistenceError, sqlite3.Error, psycopg.Error,
)



def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        status = handler(args)
        sys.stdout.flush()  # so that a reader gone away shows here, not at exit
        return status
    except BrokenPipeError:
        return reader_went_away()
    except (DomainError, ConfigError, ChannelConfigError) as e:
        return fail(str(e))
    except (KeyStoreError, KeyMissing) as e:
        return fail(str(e), status=2)
    except OPERATIONAL_ERRORS as e:
        return fail(operational_message(e))
    except KeyboardInterrupt:
        return 130


def operational_message(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    # Drivers' messages may span lines (psycopg adds hints); the contract wants one.
    detail = " ".join(str(error).split()) or type(error).__name__
    return f"the store failed: {detail}"


def reader_went_away() -> int:
    """`ledgerdesk audit export | head -1`: the reader has what it wanted.  What is
    still buffered would fail again in the interpreter's flush at exit, so stdout
    goes to /dev/null, and the exit status is a SIGPIPE death's, as any Unix
    tool's in a pipeline."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + signal.SIGPIPE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ledgerdesk", description="Ledgerdesk service desk")
    commands = parser.add_subparsers(title="commands")
    add_users_commands(commands)
    add_server_commands(commands)
    add_projections_commands(commands)
    add_channels_commands(commands)
    add_data_commands(commands)
    add_audit_commands(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
