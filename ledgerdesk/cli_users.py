"""`ledgerdesk user ...`: accounts and their API tokens."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from domain.users.commands import AddUser, DeactivateUser, IssueToken, RevokeToken
from domain.users.handlers import all_users, token_id_of
from ledgerdesk.cli_common import CLI_ACTOR, command_name, opened_services


def add_users_commands(commands: Any) -> None:
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

    revoke = user.add_parser("revoke-token", help="revoke one of a user's API tokens")
    revoke.add_argument("email")
    revoke.add_argument("token_id", help="as `user token` and `user list` show it")
    revoke.set_defaults(handler=user_revoke_token)

    deactivate = user.add_parser("deactivate", help="refuse a user's logins and tokens")
    deactivate.add_argument("email")
    deactivate.set_defaults(handler=user_deactivate)

    user.add_parser("list", help="every user: email, roles, customer, state, token ids"
                    ).set_defaults(handler=user_list)


def user_add(args: argparse.Namespace) -> int:
    roles = [r.strip() for value in args.role for r in value.split(",") if r.strip()]
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    with opened_services() as services:
        services.app.handle(AddUser(
            args.email, roles, actor=CLI_ACTOR, name=args.name,
            customer_code=args.customer, password=password,
        ))
        if args.token:
            print_token(services.app.handle(IssueToken(args.email, actor=CLI_ACTOR, label="cli")),
                        args.email)
        else:
            print(f"created {args.email.strip().lower()} ({', '.join(roles)})", file=sys.stderr)
    return 0


def user_token(args: argparse.Namespace) -> int:
    with opened_services() as services:
        print_token(services.app.handle(IssueToken(args.email, actor=CLI_ACTOR, label=args.label)),
                    args.email)
    return 0


def print_token(token: str, email: str) -> None:
    """The token alone on stdout (scripts capture it); its id on stderr, for people:
    the token cannot be shown again, its id is what revoking it takes."""
    token_id = token_id_of(token)
    print(token)
    print(f"token id {token_id}; to revoke it: {command_name()} user revoke-token "
          f"{email.strip().lower()} {token_id}", file=sys.stderr)


def user_revoke_token(args: argparse.Namespace) -> int:
    with opened_services() as services:
        services.app.handle(RevokeToken(args.email, args.token_id, actor=CLI_ACTOR))
    print(f"revoked token {args.token_id} of {args.email.strip().lower()}", file=sys.stderr)
    return 0


def user_deactivate(args: argparse.Namespace) -> int:
    with opened_services() as services:
        services.app.handle(DeactivateUser(args.email, actor=CLI_ACTOR))
    print(f"deactivated {args.email.strip().lower()}: its password and tokens no longer work",
          file=sys.stderr)
    return 0


def user_list(args: argparse.Namespace) -> int:
    """One tab-separated line per user: email, roles, customer, state, token ids."""
    with opened_services() as services:
        for user in all_users(services.app.store):
            print("\t".join([
                user.email, ",".join(user.roles), user.customer_code or "-",
                "active" if user.active else "deactivated", ",".join(sorted(user.tokens)) or "-",
            ]))
    return 0
