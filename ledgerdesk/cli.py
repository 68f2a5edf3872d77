"""`ledgerdesk` on the command line.  A user's mistake prints one line to stderr
and exits non-zero, and so does trouble with the machine (a store that is down,
locked or unreadable, a port in use); a reader that stops reading (`| head`)
ends the command quietly.  Only a bug shows a traceback."""

from __future__ import annotations

import argparse
import asyncio
import csv
import getpass
import json
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg
from eventsourcing.persistence import IntegrityError, PersistenceError

from channels.base import Channel, ChannelCommand, ChannelConfigError
from domain.customers.commands import EraseCustomer
from domain.errors import DomainError, InvalidInput
from domain.sealing import KeyMissing, KeyStoreError
from domain.users.commands import AddUser, DeactivateUser, IssueToken, RevokeToken
from domain.users.handlers import all_users, token_id_of
from ledgerdesk import demo, demo_fax, erp_import
from ledgerdesk.bootstrap import CHANNEL_TYPES, Services, bootstrap
from ledgerdesk.config import ConfigError, load_settings
from ledgerdesk.persistence import check_reachable
from ledgerdesk.runtime import Runtime
from ledgerdesk.server import serve
from ledgerdesk.wakeup import Doorbells
from projections.access_log import (
    ACCESS_EXPORT,
    AUDIT_EXPORT,
    AccessLog,
    open_access_log,
)
from projections.access_log import (
    COLUMNS as ACCESS_COLUMNS,
)
from projections.audit import EXPORT_COLUMNS, audit_events, unknown_subject, verify
from projections.queries import access_filter, audit_filter
from projections.registry import VIEW_CLASSES, ReadModels, open_read_models
from projections.runner import ProjectionThread, Wakeup, rebuild_together
from projections.storage import ViewStorage

CLI_ACTOR = "cli"

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


def fail(message: str, status: int = 1) -> int:
    print(f"ledgerdesk: {message}", file=sys.stderr)
    return status


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

    serve = commands.add_parser("serve", help="API, projections and channels in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=serve_command)

    demo = commands.add_parser("demo", help="load demo data into an empty store, then serve")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(handler=demo_command)

    projections = commands.add_parser("projections", help="read models").add_subparsers(
        title="projection commands")
    projections.add_parser("status", help="positions and lag").set_defaults(
        handler=projections_status)
    rebuild = projections.add_parser("rebuild", help="drop and rebuild read models")
    rebuild.add_argument("name", nargs="?")
    rebuild.set_defaults(handler=projections_rebuild)
    projections.add_parser("run", help="run the projections alone").set_defaults(
        handler=projections_run)

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

    customer = commands.add_parser("customer", help="customers").add_subparsers(
        title="customer commands")
    erase = customer.add_parser(
        "erase", help="crypto-shred a customer's personal data; history and audit chain stay")
    erase.add_argument("code")
    erase.add_argument("--reason", required=True,
                       help="why (e.g. the erasure request's number); kept readable, so no "
                            "personal data in it")
    erase.set_defaults(handler=customer_erase)

    erp = commands.add_parser("erp", help="documents from the ERP").add_subparsers(
        title="erp commands")
    erp_in = erp.add_parser("import", help="orders, shipments, invoices, payments or returns "
                            "(JSON lines or CSV, one kind per file) for the portal")
    erp_in.add_argument("file", type=Path)
    erp_in.add_argument("--kind", choices=("order", "shipment", "invoice", "payment", "return"),
                        help="the file's document kind (else each record's kind field)")
    erp_in.add_argument("--encoding", default="utf-8-sig", help="the file's text encoding")
    erp_in.set_defaults(handler=erp_import_command)

    audit = commands.add_parser("audit", help="the tamper-evident audit trail").add_subparsers(
        title="audit commands")
    audit.add_parser("verify", help="check the hash chain").set_defaults(handler=audit_verify)
    export = audit.add_parser("export", help="full history to stdout")
    export.add_argument("--customer")
    export.add_argument("--request")
    export.add_argument("--actor", help="who did it: a user's email, or e.g. system")
    export.add_argument("--since", help="a date (inclusive) or a date-time with its zone")
    export.add_argument("--until", help="a date (the whole day included) or a date-time")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.set_defaults(handler=audit_export)
    access = audit.add_parser("access", help="the access log: who read whose data, when")
    access.add_argument("--customer", help="reads of this customer's 360")
    access.add_argument("--request", help="reads of this request")
    access.add_argument("--actor", help="reads by this user (email) or cli:<account>")
    access.add_argument("--since", help="a date (inclusive) or a date-time with its zone")
    access.add_argument("--until", help="a date (the whole day included) or a date-time")
    access.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    access.set_defaults(handler=audit_access)
    audit.add_parser("access-verify", help="check the access log's hash chain").set_defaults(
        handler=audit_access_verify)
    return parser


def user_add(args: argparse.Namespace) -> int:
    roles = [r.strip() for value in args.role for r in value.split(",") if r.strip()]
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    with _services() as services:
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
    with _services() as services:
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
    with _services() as services:
        services.app.handle(RevokeToken(args.email, args.token_id, actor=CLI_ACTOR))
    print(f"revoked token {args.token_id} of {args.email.strip().lower()}", file=sys.stderr)
    return 0


def user_deactivate(args: argparse.Namespace) -> int:
    with _services() as services:
        services.app.handle(DeactivateUser(args.email, actor=CLI_ACTOR))
    print(f"deactivated {args.email.strip().lower()}: its password and tokens no longer work",
          file=sys.stderr)
    return 0


def customer_erase(args: argparse.Namespace) -> int:
    with _services() as services:
        erasure = services.app.handle(EraseCustomer(args.code, args.reason, actor=CLI_ACTOR))
    print(f"erased {', '.join(erasure.codes)}: their keys are destroyed; "
          f"{erasure.identities_released} identities released, "
          f"{erasure.users_deactivated} users deactivated")
    return 0


def erp_import_command(args: argparse.Namespace) -> int:
    """The summary on stdout, each refused document on stderr; 1 when any was refused."""
    with _services() as services:
        summary = erp_import.import_file(services.app, args.file, args.kind, args.encoding)
    for line, reason in summary.refused:
        print(f"ledgerdesk: {args.file} line {line}: {reason}", file=sys.stderr)
    print(summary.line())
    return 1 if summary.refused else 0


def user_list(args: argparse.Namespace) -> int:
    """One tab-separated line per user: email, roles, customer, state, token ids."""
    with _services() as services:
        for user in all_users(services.app.store):
            print("\t".join([
                user.email, ",".join(user.roles), user.customer_code or "-",
                "active" if user.active else "deactivated", ",".join(sorted(user.tokens)) or "-",
            ]))
    return 0


def serve_command(args: argparse.Namespace) -> int:
    if problem := port_problem(args.host, args.port):
        return fail(problem)
    with _services() as services:
        serve(services, args.host, args.port)
    return 0


def demo_command(args: argparse.Namespace) -> int:
    if problem := port_problem(args.host, args.port):
        return fail(problem)
    with _services() as services:
        if demo.is_empty(services.app):
            tokens = demo.load(services.app)
            demo_fax.load(services.app, services.blobs)  # one fax to verify
            print("Demo data loaded. Logins (password: " + demo.DEMO_PASSWORD + "):")
            for email, token in tokens.items():
                print(f"  {email:32} API token: {token}")
            print(f"For the README's API examples ({demo.API_EXAMPLE_LOGIN}'s token), paste:")
            print(f"  export TOKEN={tokens[demo.API_EXAMPLE_LOGIN]}")
        else:
            print("The store is not empty: serving it as it is (demo data loads only once).")
            # Tokens are shown only when issued (only their hashes are kept).
            email = (demo.API_EXAMPLE_LOGIN if demo.has_demo_logins(services.app)
                     else "EMAIL")
            print(f"For an API token: {command_name()} user token {email}"
                  f"  (`{command_name()} user list` shows every user)")
        print(f"Serving on http://{args.host}:{args.port}  (API under /api/v1)", flush=True)
        serve(services, args.host, args.port)
    return 0


def command_name() -> str:
    """How this program was run, for hints the user can paste (`make run` runs
    .venv/bin/ledgerdesk, which is not on the PATH)."""
    invoked = sys.argv[0] if sys.argv else ""
    return invoked if Path(invoked).name == "ledgerdesk" else "ledgerdesk"


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, found before anything starts
    (uvicorn would say it with a traceback, after the projections had started).
    SO_REUSEADDR as uvicorn binds: a port left in TIME_WAIT is free."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as e:
        reason = e.strerror or str(e)
        return (f"cannot listen on {host}:{port}: {reason}; "
                f"choose another port with --port (make run PORT=...)")
    return None


def projections_status(args: argparse.Namespace) -> int:
    with _services() as services, _models(services) as models:
        for projector in models.projectors:
            status = projector.status()
            print(f"{status.name:12} position {status.position:>10}  lag {status.lag:>8}"
                  f"  failures {status.failures:>4}")
    return 0


def projections_rebuild(args: argparse.Namespace) -> int:
    known = [view.name for view in VIEW_CLASSES]
    if args.name and args.name not in known:
        return fail(f"no read model {args.name!r}; the read models are {', '.join(known)}", 2)
    with _services() as services, _models(services) as models:
        chosen = [models.projector(args.name)] if args.name else models.projectors
        started = time.perf_counter()
        # In step: each batch of the log is decoded once for every view.
        for name, count in rebuild_together(chosen).items():
            print(f"{name:12} rebuilt from {count} events")
        print(f"{len(chosen)} read model(s) rebuilt in {time.perf_counter() - started:.1f}s")
    return 0


def projections_run(args: argparse.Namespace) -> int:
    with _services() as services, _models(services) as models:
        wakeup = Wakeup()
        doorbells = Doorbells(wakeup, services.app, services.settings.database)
        runner = ProjectionThread(models.projectors, wakeup=wakeup)
        runner.start()
        try:
            while runner.is_alive():
                runner.join(timeout=1)
        finally:
            runner.stop()
            doorbells.close()
    return 0


def _channel_command(
    channel_type: type[Channel], spec: ChannelCommand
) -> Callable[[argparse.Namespace], int]:
    """A channel's subcommand, run with the policies beside it (so what it records
    is acknowledged and delivered), and one last pass of them when it ends."""

    def handler(args: argparse.Namespace) -> int:
        with _services() as services:
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


def audit_verify(args: argparse.Namespace) -> int:
    with _services() as services, _models(services) as models:
        result = verify(services.app.recorder, caught_up(models, "audit"))
    if result.intact:
        print(f"intact: {result.checked} events checked; head hash {result.head_hash}")
        return 0
    print(f"BROKEN at position {result.first_broken} "
          f"({result.checked} events before it are intact)")
    return 1


def audit_export(args: argparse.Namespace) -> int:
    """Every event matching all the filters given, oldest first.  An unknown
    customer or request is an error (exit 1), a malformed date a usage error
    (exit 2); an actor who did nothing in the period is an empty export."""
    try:
        wanted = audit_filter({"customer": args.customer or "", "request": args.request or "",
                               "actor": args.actor or "", "since": args.since or "",
                               "until": args.until or ""})
    except InvalidInput as e:
        return fail(str(e), status=2)
    with _services() as services, _models(services) as models:
        audit = caught_up(models, "audit")
        why = unknown_subject(audit, wanted)
        if why:
            return fail(why)
        _accessed(services, models, AUDIT_EXPORT, args.customer or args.request or "",
                  _given(args, "customer", "request", "actor", "since", "until"))
        writer = csv.writer(sys.stdout) if args.format == "csv" else None
        if writer:
            writer.writerow(EXPORT_COLUMNS)
        position = 0
        while rows := audit_events(audit, wanted, position):
            for row in rows:
                if writer:
                    writer.writerow([row[c] for c in EXPORT_COLUMNS])
                else:
                    print(json.dumps({**row, "data": json.loads(row["data"])},
                                     ensure_ascii=False))
            position = rows[-1]["position"]
    return 0


def audit_access(args: argparse.Namespace) -> int:
    """The access log (who read whose data), oldest first, filtered like `export`."""
    try:
        wanted = access_filter({"customer": args.customer or "", "request": args.request or "",
                                "actor": args.actor or "", "since": args.since or "",
                                "until": args.until or ""})
    except InvalidInput as e:
        return fail(str(e), status=2)
    with _services() as services, _models(services) as models:
        log = open_access_log(services.settings.data_dir, models.datastore)
        try:
            _accessed(services, models, ACCESS_EXPORT, wanted.subject or "",
                      _given(args, "customer", "request", "actor", "since", "until"), log)
            writer = csv.writer(sys.stdout) if args.format == "csv" else None
            if writer:
                writer.writerow(ACCESS_COLUMNS)
            after = 0
            while rows := log.entries(wanted, after):
                for row in rows:
                    if writer:
                        writer.writerow([json.dumps(row[c], ensure_ascii=False)
                                         if c == "detail" else row[c] for c in ACCESS_COLUMNS])
                    else:
                        print(json.dumps(row, ensure_ascii=False))
                after = rows[-1]["seq"]
        finally:
            log.close()
    return 0


def audit_access_verify(args: argparse.Namespace) -> int:
    with _services() as services, _models(services) as models:
        log = open_access_log(services.settings.data_dir, models.datastore)
        try:
            result = log.verify()
        finally:
            log.close()
    if result.intact:
        print(f"intact: {result.checked} access log entries checked")
        return 0
    print(f"BROKEN at entry {result.first_broken} "
          f"({result.checked} entries before it are intact)")
    return 1


def os_account() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return f"uid-{os.getuid()}"


def _given(args: argparse.Namespace, *names: str) -> dict[str, str]:
    return {name: getattr(args, name) for name in names if getattr(args, name, None)}


def _accessed(services: Services, models: ReadModels, kind: str, subject: str,
              detail: dict[str, str], log: AccessLog | None = None) -> None:
    """Record an export in the access log: the CLI's reader is the OS account."""
    own = log is None
    log = log or open_access_log(services.settings.data_dir, models.datastore)
    try:
        log.record(f"cli:{os_account()}", "cli", kind, subject, detail)
    finally:
        if own:
            log.close()


CATCH_UP_ATTEMPTS = 10


def caught_up(models: ReadModels, name: str) -> ViewStorage:
    """The view, brought up to date before a report reads it.  A `serve` beside us
    projects the same view: when it commits a batch first, ours is refused as a
    duplicate, and the next try starts after the batch it wrote."""
    for attempt in range(1, CATCH_UP_ATTEMPTS + 1):
        try:
            models.projector(name).catch_up()
            break
        except (IntegrityError, psycopg.IntegrityError):
            if attempt == CATCH_UP_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
    return models[name]


class _models:
    def __init__(self, services: Services) -> None:
        self.services = services

    def __enter__(self) -> ReadModels:
        self.models = open_read_models(self.services.settings, self.services.app)
        return self.models

    def __exit__(self, *exc: object) -> None:
        self.models.close()


class _services:
    """`with _services() as s:` builds the services and always closes them."""

    def __enter__(self) -> Services:
        settings = load_settings()
        check_reachable(settings.database)  # a store that is down: say so at once
        self.services = bootstrap(settings)
        return self.services

    def __exit__(self, *exc: object) -> None:
        self.services.close()


if __name__ == "__main__":
    sys.exit(main())
