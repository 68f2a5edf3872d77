"""`ledgerdesk` on the command line.  A user's mistake prints one line to stderr
and exits non-zero; only a bug shows a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from domain.errors import DomainError
from ledgerdesk.bootstrap import Services, bootstrap
from ledgerdesk.config import ConfigError

CLI_ACTOR = "cli"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except (DomainError, ConfigError) as e:
        print(f"ledgerdesk: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ledgerdesk", description="Ledgerdesk service desk")
    commands = parser.add_subparsers(title="commands")

    user = commands.add_parser("user", help="manage users").add_subparsers(title="user commands")
    add = user.add_parser("add", help="create a user")
    add.add_argument("email")
    add.add_argument("--role", action="append", required=True,
                     help="customer, customer_admin, partner, agent, engineer, manager, admin "
                          "or auditor; repeat or separate with commas for several")
    add.add_argument("--name", default="")
    add.add_argument("--customer", help="the customer code, for customer users")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    add.add_argument("--token", action="store_true", help="print a new API token")
    add.set_defaults(handler=user_add)

    token = user.add_parser("token", help="issue a new API token for a user")
    token.add_argument("email")
    token.add_argument("--label", default="")
    token.set_defaults(handler=user_token)
    return parser


def user_add(args: argparse.Namespace) -> int:
    roles = [r.strip() for value in args.role for r in value.split(",") if r.strip()]
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    with _services() as services:
        services.app.add_user(
            args.email, roles, actor=CLI_ACTOR, name=args.name,
            customer_code=args.customer, password=password,
        )
        if args.token:
            print(services.app.issue_token(args.email, actor=CLI_ACTOR, label="cli"))
        else:
            print(f"created {args.email.strip().lower()} ({', '.join(roles)})", file=sys.stderr)
    return 0


def user_token(args: argparse.Namespace) -> int:
    with _services() as services:
        print(services.app.issue_token(args.email, actor=CLI_ACTOR, label=args.label))
    return 0


class _services:
    """`with _services() as s:` builds the services and always closes them."""

    def __enter__(self) -> Services:
        self.services = bootstrap()
        return self.services

    def __exit__(self, *exc: object) -> None:
        self.services.close()


if __name__ == "__main__":
    sys.exit(main())
