"""Satisfaction surveys: on each resolution, one survey on the request's channel.

A tracked consumer of the event log, like the acknowledgement policy: it
counts each request's resolutions in its own table (the aggregate counts them
the same way) and, at each, issues a QueueReply with a reply id fixed by
(request, resolution), so a second run after a crash, or a rebuild, is refused
as already queued instead of sending twice.  The survey is `automatic`: it is
not an answer.  A reopened and resolved-again request gets a new survey.

The event holds the survey's words only.  Its links and buttons are signed
tokens (domain.survey_links) that would let anyone holding them rate, so they
are made when the message is sent, by `SurveySenders`, which wraps each
channel's sender: email (and every channel that answers by email) gets one
link per score to `/survey/{token}` on the public URL; Telegram gets inline
buttons whose callback data is the token; the portal shows its own rating form
on the request page.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from domain.aggregates.service_request import ServiceRequest as SR
from domain.application import Ledgerdesk
from domain.delivery import SURVEY_ACTOR, Outbound, Sender
from domain.errors import DomainError
from domain.ids import NAMESPACE
from domain.requests.commands import QueueReply
from domain.survey_links import CALLBACK_PREFIX, make_token
from projections.view import Db, View, handles

log = logging.getLogger(__name__)

SCORES = (5, 4, 3, 2, 1)
LABELS = {5: "5 ★★★★★ 非常满意 / Very satisfied", 4: "4 ★★★★ 满意 / Satisfied",
          3: "3 ★★★ 一般 / Neutral", 2: "2 ★★ 不满意 / Unsatisfied",
          1: "1 ★ 非常不满意 / Very unsatisfied"}
REPLY_PREFIX = "survey-"


def survey_body(reference: str) -> str:
    return (f"您的服务请求 {reference} 已解决。您对这次服务满意吗？请选择 1 至 5 分。\n"
            f"Your service request {reference} is resolved. How satisfied are you with "
            "how we handled it? Please choose from 1 to 5.")


def survey_reply_id(request_id: Any, resolution: int) -> str:
    """Fixed by (request, resolution), and naming the resolution, so the sender
    can sign the links for it without reading anything."""
    digest = uuid.uuid5(NAMESPACE, f"survey:{request_id}:{resolution}").hex[:24]
    return f"{REPLY_PREFIX}{resolution}-{digest}"


def resolution_of(reply_id: str) -> int | None:
    if not reply_id.startswith(REPLY_PREFIX):
        return None
    number = reply_id[len(REPLY_PREFIX):].partition("-")[0]
    return int(number) if number.isdigit() else None


class SurveyPolicy(View):
    name = "surveys"
    tables = ("survey_requests",)
    schema = (
        """CREATE TABLE IF NOT EXISTS survey_requests (
            request_id TEXT PRIMARY KEY,
            reference TEXT NOT NULL,
            resolutions INTEGER NOT NULL DEFAULT 0
        )""",
    )

    def __init__(self, app: Ledgerdesk) -> None:
        self.app = app
        self.queued = 0  # surveys queued by this instance

    @handles(SR.Opened)
    def opened(self, db: Db, e: Any, position: Any) -> None:
        db.execute("""INSERT INTO survey_requests (request_id, reference) VALUES (?, ?)
                      ON CONFLICT (request_id) DO NOTHING""",
                   (str(e.originator_id), e.reference))

    @handles(SR.Resolved)
    def resolved(self, db: Db, e: Any, position: Any) -> None:
        request_id = str(e.originator_id)
        db.execute("UPDATE survey_requests SET resolutions = resolutions + 1 WHERE request_id = ?",
                   (request_id,))
        row = db.one("SELECT reference, resolutions FROM survey_requests WHERE request_id = ?",
                     (request_id,))
        if row is None:
            return
        reference, resolution = row["reference"], int(row["resolutions"])
        try:
            self.app.handle(QueueReply(
                reference, survey_body(reference), SURVEY_ACTOR,
                reply_id=survey_reply_id(request_id, resolution),
                automatic=True,  # not an answer
            ))
            self.queued += 1
        except DomainError as error:
            # Queued by an earlier run, or no way to reach the customer on this
            # channel: nothing more to do either way.
            log.info("no survey for %s: %s", reference, error)


class _SurveySender:
    """One channel's sender, with a survey's links or buttons added on the way out."""

    def __init__(self, inner: Sender, secret_key: str, public_url: str) -> None:
        self.inner = inner
        self.channel = inner.channel
        self.secret_key = secret_key
        self.public_url = public_url.rstrip("/")

    async def send(self, message: Outbound) -> str:
        resolution = resolution_of(message.reply_id)
        if message.kind == "survey" and resolution is not None and self.secret_key:
            message = self.with_answers(message, resolution)
        return await self.inner.send(message)

    def with_answers(self, message: Outbound, resolution: int) -> Outbound:
        if self.channel == "telegram":
            return replace(message, buttons=[[(
                "★" * score, CALLBACK_PREFIX + make_token(
                    self.secret_key, message.reference, resolution, score))]
                for score in SCORES])
        if self.channel == "web" or not self.public_url:
            return message  # the portal's request page has its own rating form
        tokens = {score: make_token(self.secret_key, message.reference, resolution, score,
                                    message.customer_code) for score in SCORES}
        links = "\n".join(f"{LABELS[score]}: {self.public_url}/survey/{tokens[score]}"
                          for score in SCORES)
        return replace(message, body=f"{message.body}\n\n{links}\n")


def survey_senders(senders: Mapping[str, Sender], secret_key: str,
                   public_url: str) -> dict[str, Sender]:
    """Every sender wrapped so that surveys go out with their answers."""
    return {channel: _SurveySender(sender, secret_key, public_url)
            for channel, sender in senders.items()}
