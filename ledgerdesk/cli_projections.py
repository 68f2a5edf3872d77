"""`ledgerdesk projections ...`: the read models' positions, rebuilds, a runner."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ledgerdesk.cli_common import fail, opened_models, opened_services
from ledgerdesk.wakeup import Doorbells
from projections.registry import VIEW_CLASSES
from projections.runner import ProjectionThread, Wakeup, rebuild_together


def add_projections_commands(commands: Any) -> None:
    projections = commands.add_parser("projections", help="read models").add_subparsers(
        title="projection commands")
    projections.add_parser("status", help="positions and lag").set_defaults(
        handler=projections_status)
    rebuild = projections.add_parser("rebuild", help="drop and rebuild read models")
    rebuild.add_argument("name", nargs="?")
    rebuild.set_defaults(handler=projections_rebuild)
    projections.add_parser("run", help="run the projections alone").set_defaults(
        handler=projections_run)


def projections_status(args: argparse.Namespace) -> int:
    with opened_services() as services, opened_models(services) as models:
        for projector in models.projectors:
            status = projector.status()
            print(f"{status.name:12} position {status.position:>10}  lag {status.lag:>8}"
                  f"  failures {status.failures:>4}")
    return 0


def projections_rebuild(args: argparse.Namespace) -> int:
    known = [view.name for view in VIEW_CLASSES]
    if args.name and args.name not in known:
        return fail(f"no read model {args.name!r}; the read models are {', '.join(known)}", 2)
    with opened_services() as services, opened_models(services) as models:
        chosen = [models.projector(args.name)] if args.name else models.projectors
        started = time.perf_counter()
        # In step: each batch of the log is decoded once for every view.
        for name, count in rebuild_together(chosen).items():
            print(f"{name:12} rebuilt from {count} events")
        print(f"{len(chosen)} read model(s) rebuilt in {time.perf_counter() - started:.1f}s")
    return 0


def projections_run(args: argparse.Namespace) -> int:
    with opened_services() as services, opened_models(services) as models:
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
