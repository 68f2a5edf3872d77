"""`ledgerdesk customer erase` and `ledgerdesk erp import`: customers' data in and out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from domain.customers.commands import EraseCustomer
from ledgerdesk import erp_import
from ledgerdesk.cli_common import CLI_ACTOR, opened_services


def add_data_commands(commands: Any) -> None:
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


def customer_erase(args: argparse.Namespace) -> int:
    with opened_services() as services:
        erasure = services.app.handle(EraseCustomer(args.code, args.reason, actor=CLI_ACTOR))
    print(f"erased {', '.join(erasure.codes)}: their keys are destroyed; "
          f"{erasure.identities_released} identities released, "
          f"{erasure.users_deactivated} users deactivated")
    return 0


def erp_import_command(args: argparse.Namespace) -> int:
    """The summary on stdout, each refused document on stderr; 1 when any was refused."""
    with opened_services() as services:
        summary = erp_import.import_file(services.app, args.file, args.kind, args.encoding)
    for line, reason in summary.refused:
        print(f"ledgerdesk: {args.file} line {line}: {reason}", file=sys.stderr)
    print(summary.line())
    return 1 if summary.refused else 0
