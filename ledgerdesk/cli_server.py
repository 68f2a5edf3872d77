"""`ledgerdesk serve` and `ledgerdesk demo`: one process with the API, the
projections and the channels."""

from __future__ import annotations

import argparse
import socket
from typing import Any

from ledgerdesk import demo, demo_fax
from ledgerdesk.cli_common import command_name, fail, opened_services
from ledgerdesk.server import serve


def add_server_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="API, projections and channels in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=serve_command)

    demo = commands.add_parser("demo", help="load demo data into an empty store, then serve")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(handler=demo_command)


def serve_command(args: argparse.Namespace) -> int:
    if problem := port_problem(args.host, args.port):
        return fail(problem)
    with opened_services() as services:
        serve(services, args.host, args.port)
    return 0


def demo_command(args: argparse.Namespace) -> int:
    if problem := port_problem(args.host, args.port):
        return fail(problem)
    with opened_services() as services:
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
