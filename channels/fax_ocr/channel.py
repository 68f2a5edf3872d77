"""The fax channel: OCR'd fax files become interactions on the right request.

Four ways in, one path (channels.fax_ocr.intake): `ledgerdesk fax ingest FILE...`,
the watched folder (`LEDGERDESK_FAX_INBOX`, channels.fax_ocr.folder), the
gateway upload `POST /channels/fax/upload` (channels.fax_ocr.gateway), and
mail from a fax-to-mail gateway's address (`LEDGERDESK_FAX_GATEWAY_FROM`),
which the email channel hands over through `mail_hook`.  The channel has no
sender: replies to a fax go by email (domain.requests.routing), or the agent
calls back the number the verification queue shows.  It is always on, since
the CLI and the gateway need nothing configured; only the folder is optional.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute

from channels.base import Channel, ChannelCommand, Loop
from channels.fax_ocr.folder import FaxFolder
from channels.fax_ocr.gateway import gateway_routes
from channels.fax_ocr.intake import FaxIntake, FaxUnreadable
from channels.fax_ocr.mail import record_fax_mail
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.errors import DomainError
from domain.requests.commands import Recorded

# (attachments as (bytes, filename), subject, the kept raw mail, its dedupe key) -> what
# was recorded: a gateway's mail is always recorded as a fax (channels.fax_ocr.mail).
MailHook = Callable[[Sequence[tuple[bytes, str]], str, dict[str, Any] | None, str], Recorded]

class FaxChannel(Channel):
    name = "fax"
    off_hint = "the fax channel is off"

    def __init__(self, app: Ledgerdesk, blobs: BlobStore, langs: str, inbox: Path | None,
                 gateway_senders: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.app = app
        self.intake = FaxIntake(app, blobs, langs)
        self.folder = FaxFolder(inbox, self.intake) if inbox is not None else None
        self.max_bytes = blobs.max_bytes
        self.gateway_senders = tuple(s.strip().lower() for s in gateway_senders if s.strip())

    def loops(self) -> dict[str, Loop]:
        return {"fax-folder": self.folder.run_forever} if self.folder is not None else {}

    def routes(self) -> list[BaseRoute]:
        return gateway_routes(self.app, self.intake, self.max_bytes)

    def mail_hook(self, sender: str) -> MailHook | None:
        """For mail from a fax gateway's address, how it is recorded (as a fax)."""
        if sender.strip().lower() not in self.gateway_senders:
            return None

        def record(attachments: Sequence[tuple[bytes, str]], subject: str,
                   raw: dict[str, Any] | None, dedupe_key: str) -> Recorded:
            return record_fax_mail(self.intake, attachments, subject, raw, dedupe_key)

        return record

    @classmethod
    def commands(cls) -> list[ChannelCommand]:
        def configure(parser: argparse.ArgumentParser) -> None:
            parser.add_argument("files", nargs="+", metavar="FILE", type=Path)
            parser.add_argument("--from", dest="sender", default="", metavar="NUMBER",
                                help="the sender's fax number, when the file does not say")

        def watch(parser: argparse.ArgumentParser) -> None:
            parser.add_argument("--once", action="store_true",
                                help="take what is in the folder now, and exit")

        return [
            ChannelCommand(name="ingest", help="OCR fax files and record them",
                           configure=configure, run=FaxChannel.ingest,
                           then_run_policies=False),
            ChannelCommand(name="watch", help="record what arrives in LEDGERDESK_FAX_INBOX",
                           configure=watch, run=FaxChannel.watch, then_run_policies=False),
        ]

    async def ingest(self, args: argparse.Namespace) -> list[str]:
        """One line per recorded file on stdout: the file, then the reference; a
        file that fails is named with its reason on stderr, and the rest go on."""
        lines: list[str] = []
        for path in args.files:
            line = await asyncio.to_thread(self._ingest_one, path, args.sender)
            if line is not None:
                lines.append(line)
        return lines

    def _ingest_one(self, path: Path, sender: str) -> str | None:
        try:
            outcome = self.intake.record(path.read_bytes(), path.name, sender)
        except OSError as error:
            print(f"{path}: {error.strerror or error}", file=sys.stderr)
            return None
        except FaxUnreadable as error:
            kept = f" (kept for an agent on {error.recorded.reference})" if error.recorded else ""
            print(f"{path}: {error.reason}{kept}", file=sys.stderr)
            return None
        except DomainError as error:
            print(f"{path}: {error}", file=sys.stderr)
            return None
        return f"{path} {outcome.recorded.reference}"

    async def watch(self, args: argparse.Namespace) -> list[str]:
        if self.folder is None:
            raise DomainError("fax watch is off: set LEDGERDESK_FAX_INBOX")
        report = await asyncio.to_thread(self.folder.pass_once)
        for name, reason in report.failed:
            print(f"{name}: {reason}", file=sys.stderr)
        return [f"{name} {reference}" for name, reference in report.recorded]
