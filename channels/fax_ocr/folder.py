"""The watched folder (`LEDGERDESK_FAX_INBOX`): fax files dropped in are recorded.

A file is claimed by an atomic rename into `working/`, so it is never in two
places at once and never half-handled by two workers; recorded, it moves to
`done/`; unreadable, to `failed/` with a `<name>.reason` beside it.  A crash
after the claim leaves the file in `working/`, and the next pass takes those
first: recording is idempotent by the file's hash, so a file whose record was
written just before the crash is recognised and recorded once.  Files still
being written are left alone: hidden ones, `*.part`/`*.tmp`, and any changed
in the last seconds (gateways should write elsewhere and rename in).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from channels.fax_ocr.intake import FaxIntake, FaxUnreadable
from domain.errors import DomainError

log = logging.getLogger(__name__)

SETTLE_SECONDS = 2.0
POLL_SECONDS = 2.0
PARTIAL_SUFFIXES = (".part", ".tmp", ".reason")


@dataclass
class FolderReport:
    recorded: list[tuple[str, str]] = field(default_factory=list)  # (file, reference)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


class FaxFolder:
    def __init__(self, root: Path, intake: FaxIntake, settle: float = SETTLE_SECONDS) -> None:
        self.root = root
        self.intake = intake
        self.settle = settle
        self.working, self.done, self.failed = (root / "working", root / "done", root / "failed")

    def prepare(self) -> None:
        for folder in (self.root, self.working, self.done, self.failed):
            folder.mkdir(parents=True, exist_ok=True)

    def pass_once(self) -> FolderReport:
        """Whatever a crash left in working/, then what has arrived."""
        self.prepare()
        report = FolderReport()
        for path in sorted(self.working.iterdir()):
            if path.is_file():
                self._handle(path, report)
        for path in sorted(self.root.iterdir()):
            if self._ready(path):
                claimed = self.claim(path)
                if claimed is not None:
                    self._handle(claimed, report)
        return report

    def claim(self, path: Path) -> Path | None:
        target = _free_name(self.working, path.name)
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None  # someone else claimed it first
        return target

    def _ready(self, path: Path) -> bool:
        if not path.is_file() or path.name.startswith(".") or path.suffix in PARTIAL_SUFFIXES:
            return False
        return time.time() - path.stat().st_mtime >= self.settle

    def _handle(self, path: Path, report: FolderReport) -> None:
        try:
            outcome = self.intake.record(path.read_bytes(), path.name)
        except DomainError as error:  # refused by the domain: an agent must look at the file
            self._fail(path, str(error), report)
            return
        except FaxUnreadable as error:
            failed = _free_name(self.failed, path.name)
            os.rename(path, failed)
            kept = f" (kept for an agent on {error.recorded.reference})" if error.recorded else ""
            failed.with_name(failed.name + ".reason").write_text(error.reason + kept + "\n",
                                                                 encoding="utf-8")
            report.failed.append((path.name, error.reason))
            log.warning("fax %s failed: %s", path.name, error.reason)
            return
        os.rename(path, _free_name(self.done, path.name))
        report.recorded.append((path.name, outcome.recorded.reference))

    def _fail(self, path: Path, reason: str, report: FolderReport) -> None:
        failed = _free_name(self.failed, path.name)
        os.rename(path, failed)
        failed.with_name(failed.name + ".reason").write_text(reason + "\n", encoding="utf-8")
        report.failed.append((path.name, reason))

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.pass_once)
            except OSError:
                log.exception("the fax folder %s could not be read", self.root)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)


def _free_name(folder: Path, name: str) -> Path:
    candidate = folder / name
    n = 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{Path(name).stem}.{n}{Path(name).suffix}"
    return candidate
