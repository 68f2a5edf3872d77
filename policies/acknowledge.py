"""Acknowledge new requests: "we have your request, its number is SR-…".

A tracked consumer of the event log, like a view: it sees each customer
message once, in order, and keeps in its own table whom it acknowledged when,
so the hourly limit per address is the same in every process and after a
restart.  The acknowledgement itself is a QueueReply command with a reply id
fixed by the request, so running the policy again after a crash cannot queue a
second one, and marked automatic: it is not an answer, so the request stays
awaiting a reply and its response clock keeps running.

Email and Telegram requests are acknowledged, each on its own channel (a chat
user id is the "address" the hourly limit counts).  Rules: only the message
that opened a request is acknowledged; never an
auto-reply, a bounce, an unreadable message, mail from our own addresses or an
unusable sender; at most `per_hour` acknowledgements per address in any hour.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from domain.aggregates.service_request import ServiceRequest as SR
from domain.application import Ledgerdesk
from domain.delivery import ACKNOWLEDGEMENT_ACTOR
from domain.errors import DomainError
from domain.ids import NAMESPACE, keyed_id
from domain.requests.commands import QueueReply
from projections.view import Db, View, handles, iso

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)


def acknowledgement_body(reference: str) -> str:
    return (f"我们已收到您的服务请求，受理编号为 {reference}。\n"
            f"We have received your service request; its reference is {reference}.")


def acknowledgement_id(request_id: Any) -> str:
    return uuid.uuid5(NAMESPACE, f"acknowledgement:{request_id}").hex


class AcknowledgementPolicy(View):
    name = "acknowledgements"
    tables = ("acknowledged", "acknowledgement_requests")
    schema = (
        """CREATE TABLE IF NOT EXISTS acknowledgement_requests (
            request_id TEXT PRIMARY KEY,
            reference TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS acknowledged (
            address TEXT NOT NULL,
            reference TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS acknowledged_by_address ON acknowledged (address, at)",
    )

    def __init__(
        self,
        app: Ledgerdesk,
        own_addresses: Iterable[str] = (),
        per_hour: int = 3,
        channels: Iterable[str] = ("email", "telegram"),
    ) -> None:
        self.app = app
        self.own_addresses = {a.strip().lower() for a in own_addresses if a.strip()}
        self.per_hour = per_hour
        self.channels = frozenset(channels)
        self.queued = 0  # acknowledgements queued by this instance, for reports

    @handles(SR.Opened)
    def opened(self, db: Db, e: Any, position: Any) -> None:
        if e.channel in self.channels:
            db.execute("""INSERT INTO acknowledgement_requests (request_id, reference)
                          VALUES (?, ?) ON CONFLICT (request_id) DO NOTHING""",
                       (str(e.originator_id), e.reference))

    @handles(SR.MessageReceived)
    def customer_wrote(self, db: Db, e: Any, position: Any) -> None:
        if not self._wanted(e):
            return
        opened = db.one("SELECT reference FROM acknowledgement_requests WHERE request_id = ?",
                        (str(e.originator_id),))
        if opened is None:
            return
        reference = opened["reference"]
        # Counted under a keyed pseudonym, not the address itself: this table is
        # outside the sealed event log, and must hold nothing an erasure would miss.
        address = keyed_id("acknowledged:" + e.sender.strip().lower()).hex
        since = iso(e.timestamp - WINDOW)
        row = db.one("SELECT COUNT(*) AS n FROM acknowledged WHERE address = ? AND at > ?",
                     (address, since))
        if row is not None and int(row["n"]) >= self.per_hour:
            log.info("no acknowledgement for %s: its sender reached the hourly limit", reference)
            return
        try:
            self.app.handle(QueueReply(
                reference, acknowledgement_body(reference), ACKNOWLEDGEMENT_ACTOR,
                channel=e.channel, reply_id=acknowledgement_id(e.originator_id),
                automatic=True,  # not an answer: the request still waits for an agent
            ))
            self.queued += 1
        except DomainError as error:
            # Already queued by an earlier run (a crash between command and
            # commit), or nobody can deliver it: either way nothing to do.
            log.info("no acknowledgement for %s: %s", reference, error)
        # Rows older than the window count for nothing any more.
        db.execute("DELETE FROM acknowledged WHERE address = ? AND at <= ?", (address, since))
        db.execute("INSERT INTO acknowledged (address, reference, at) VALUES (?, ?, ?)",
                   (address, reference, iso(e.timestamp)))

    def _wanted(self, e: Any) -> bool:
        details = e.details or {}
        if e.channel not in self.channels or not e.opened_request:
            return False  # only the message that opened the request
        if e.automatic or details.get("malformed"):
            return False  # an auto-reply or a bounce: answering could start a mail loop
        sender = (e.sender or "").strip().lower()
        if e.channel != "email":
            return bool(sender)  # a chat user id: no address to loop with
        local, _, domain = sender.partition("@")
        usable = bool(local) and "." in domain and not any(c.isspace() for c in sender)
        return usable and sender not in self.own_addresses
