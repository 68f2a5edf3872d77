"""`ledgerdesk audit ...`: the audit trail and the access log, verified and exported."""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import os
import sys
from typing import Any

from domain.errors import InvalidInput
from ledgerdesk.bootstrap import Services
from ledgerdesk.cli_common import caught_up, fail, opened_models, opened_services
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
from projections.registry import ReadModels


def add_audit_commands(commands: Any) -> None:
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


def audit_verify(args: argparse.Namespace) -> int:
    with opened_services() as services, opened_models(services) as models:
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
    with opened_services() as services, opened_models(services) as models:
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
    with opened_services() as services, opened_models(services) as models:
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
    with opened_services() as services, opened_models(services) as models:
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
