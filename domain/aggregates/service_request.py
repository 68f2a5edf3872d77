"""The ServiceRequest aggregate: one customer problem, across every channel.

Every interaction (message in, reply out, call, fax, note) and every agent
action (assignment, status change, escalation...) is an event in this stream;
the timeline a user sees is this stream in order.  Attachments are blob-store
references: dicts with sha256, filename, content_type and size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.aggregates.service_request_rules import (
    PERSONAL_DATA,
    TRANSITIONS,
    Attachment,
    sla_mark,
)
from domain.delivery import ACKNOWLEDGEMENT_ACTORS
from domain.errors import InvalidInput, InvalidTransition, NotFound


class ServiceRequest(Aggregate):
    # Whose data this is, and which fields are theirs (domain.personal).
    personal_data = PERSONAL_DATA

    @staticmethod
    def create_id(reference: str, **_: object) -> UUID:
        return ids.request_id(reference)

    @event("Opened")
    def __init__(
        self,
        reference: str,
        customer_code: str,
        request_type: str,
        channel: str,
        subject: str,
        description: str,
        priority: str,
        product: str | None,
        actor: str,
        follow_up_of: str | None = None,
    ) -> None:
        self.reference = reference
        self.customer_code = customer_code
        self.request_type = request_type
        self.channel = channel
        self.subject = subject
        self.description = description
        self.priority = priority
        self.product = product
        self.follow_up_of = follow_up_of
        self.status = "new"
        self.assignee: str | None = None
        self.team: str | None = None  # a team code (domain.aggregates.team)
        self.urges = 0
        self.escalation_level = 0
        self.replies: dict[str, str] = {}  # reply_id -> queued | delivered | failed
        self.message_ids: list[str] = []  # channel ids seen on this request, for threading
        self.satisfaction: int | None = None
        self.resolutions = 0  # how many times resolved: a survey rates one resolution
        self.rated_resolution = 0  # the resolution the latest rating was for
        # external id -> what the fax channel read and agents corrected (domain.requests.fax)
        self.faxes: dict[str, dict[str, Any]] = {}
        # SLA timers (domain.sla): what was recorded, one key per kind, target and
        # due time, so a timer firing twice (or in two processes) records once.
        self.sla_marks: set[str] = set()
        self.escalation_due_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in ("resolved", "closed")

    # --- interactions ------------------------------------------------------

    class MessageReceived(Aggregate.Event):
        """A message arrived, on any channel.  `automatic`: an auto-reply or a
        bounce, not a person: it never starts the response clock.
        `opened_request`: the message this request was opened for."""

        class_version = 2
        channel: str
        external_id: str
        sender: str
        subject: str
        body: str
        attachments: list[Attachment]
        occurred_at: datetime
        actor: str
        details: dict[str, Any]
        automatic: bool
        opened_request: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Version 1 knew automatic mail only from the email channel's details,
            # and a message that opened a request always came right after Opened.
            details = state.get("details") or {}
            state["automatic"] = bool(details.get("auto_reply") or details.get("bounce"))
            state["opened_request"] = state.get("originator_version") == 2

    def receive_message(
        self,
        channel: str,
        external_id: str,
        sender: str,
        subject: str,
        body: str,
        attachments: list[Attachment],
        occurred_at: datetime,
        actor: str,
        details: dict[str, Any],
        automatic: bool = False,
    ) -> None:
        """A customer wrote, on any channel.  `details` holds channel extras
        (email threading headers, the raw message's blob, an auto-reply reason...)."""
        self._message_received(
            channel=channel, external_id=external_id, sender=sender, subject=subject,
            body=body, attachments=attachments, occurred_at=occurred_at, actor=actor,
            details=details, automatic=automatic,
            # Opened still unsaved: this very command opens the request for the message.
            opened_request=any(e.originator_version == 1 for e in self.pending_events),
        )

    @event(MessageReceived)
    def _message_received(
        self,
        channel: str,
        external_id: str,
        sender: str,
        subject: str,
        body: str,
        attachments: list[Attachment],
        occurred_at: datetime,
        actor: str,
        details: dict[str, Any],
        automatic: bool,
        opened_request: bool,
    ) -> None:
        self.message_ids.append(external_id)
        if automatic:
            return  # an out-of-office or a bounce is not the customer taking up the thread
        self.channel = channel
        if self.status == "pending_customer":
            self.status = "open"

    class FaxReceived(Aggregate.Event):
        """A fax after OCR.  `extracted`: the fields read from it (reference,
        customer code, phone, serial, fax number); `needs_verification` puts it
        in the agents' fax_verification queue, for `verification_reasons`.
        `previews`: one PNG per page, since browsers show no TIFF.  `filed_from`:
        the request where it arrived, when an agent filed it here."""

        class_version = 2
        external_id: str
        sender_number: str
        image: Attachment
        ocr_text: str
        confidence: float
        pages: int
        occurred_at: datetime
        actor: str
        page_texts: list[str]
        page_confidences: list[float]
        previews: list[Attachment]
        extracted: dict[str, str]
        needs_verification: bool
        verification_reasons: list[str]
        filed_from: str | None
        opened_request: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Version 1 had no page details and no verification.
            state.update(page_texts=[state.get("ocr_text", "")],
                         page_confidences=[state.get("confidence", 0.0)], previews=[],
                         extracted={}, needs_verification=False, verification_reasons=[],
                         filed_from=None, opened_request=state.get("originator_version") == 2)

    def receive_fax(self, **fax: Any) -> None:
        """Keyword arguments as FaxReceived's fields; the page details default
        to one page holding the whole text."""
        fax.setdefault("page_texts", [fax["ocr_text"]])
        fax.setdefault("page_confidences", [fax["confidence"]])
        for name, empty in (("previews", []), ("extracted", {}), ("verification_reasons", [])):
            fax.setdefault(name, empty)
        fax.setdefault("needs_verification", False)
        fax.setdefault("filed_from", None)
        self._fax_received(
            **fax, opened_request=any(e.originator_version == 1 for e in self.pending_events))

    @event(FaxReceived)
    def _fax_received(
        self, external_id: str, sender_number: str, image: Attachment, ocr_text: str,
        confidence: float, pages: int, occurred_at: datetime, actor: str,
        page_texts: list[str], page_confidences: list[float], previews: list[Attachment],
        extracted: dict[str, str], needs_verification: bool, verification_reasons: list[str],
        filed_from: str | None, opened_request: bool,
    ) -> None:
        self.message_ids.append(external_id)
        self.faxes[external_id] = {"fields": dict(extracted), "verified": not needs_verification,
                                   "opened_request": opened_request}
        self.channel = "fax"
        if self.status == "pending_customer":
            self.status = "open"

    def fax(self, external_id: str) -> dict[str, Any]:
        try:
            return self.faxes[external_id]
        except KeyError:
            raise NotFound(f"{self.reference} has no fax {external_id}") from None

    @event("FaxCorrected")
    def correct_fax(self, external_id: str, corrections: dict[str, str], actor: str) -> None:
        """An agent's reading of the fields ("" clears one); the OCR text and the image
        stay as they were."""
        fields = self.faxes[external_id]["fields"]
        for name, value in corrections.items():
            if value:
                fields[name] = value
            else:
                fields.pop(name, None)

    @event("FaxVerified")
    def verify_fax(self, external_id: str, moved_to: str | None, actor: str) -> None:
        """Confirmed by an agent; `moved_to`: the request it was filed on instead."""
        self.faxes[external_id]["verified"] = True

    @property
    def unverified_faxes(self) -> list[str]:
        return [key for key, fax in self.faxes.items() if not fax["verified"]]

    def queue_reply(
        self,
        reply_id: str,
        body: str,
        attachments: list[Attachment],
        recipient: str | None,
        actor: str,
        channel: str | None = None,
        automatic: bool = False,
    ) -> None:
        """`channel`: where the reply goes (see domain.requests.routing); the
        request's latest channel when not given.  `automatic`: sent by the desk
        itself (an acknowledgement, a survey), which is not an answer."""
        if not body.strip():
            raise InvalidInput("a reply needs a body", fields={"body": "must not be empty"})
        if reply_id in self.replies:
            raise InvalidTransition(f"reply {reply_id} is already queued")
        self._reply_queued(
            reply_id=reply_id,
            channel=channel or self.channel,
            body=body,
            attachments=attachments,
            recipient=recipient,
            actor=actor,
            automatic=automatic,
        )

    class ReplyQueued(Aggregate.Event):
        """`automatic`: an acknowledgement or survey: the customer still waits
        for an answer, so the response clock keeps running."""

        class_version = 2
        reply_id: str
        channel: str
        body: str
        attachments: list[Attachment]
        recipient: str | None
        actor: str
        automatic: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Version 1 told acknowledgements apart only by their actor.
            state["automatic"] = state.get("actor") in ACKNOWLEDGEMENT_ACTORS

    @event(ReplyQueued)
    def _reply_queued(
        self,
        reply_id: str,
        channel: str,
        body: str,
        attachments: list[Attachment],
        recipient: str | None,
        actor: str,
        automatic: bool,
    ) -> None:
        self.replies[reply_id] = "queued"

    def mark_delivered(self, reply_id: str, external_id: str, actor: str) -> None:
        state = self._reply_state(reply_id)
        if state == "delivered":
            return  # a second confirmation of the same delivery changes nothing
        self._reply_delivered(reply_id=reply_id, external_id=external_id, actor=actor)

    @event("ReplyDelivered")
    def _reply_delivered(self, reply_id: str, external_id: str, actor: str) -> None:
        self.replies[reply_id] = "delivered"
        self.message_ids.append(external_id)

    def mark_delivery_failed(
        self, reply_id: str, error: str, attempt: int, final: bool, actor: str
    ) -> None:
        if self._reply_state(reply_id) == "delivered":
            raise InvalidTransition(f"reply {reply_id} was already delivered")
        self._reply_delivery_failed(
            reply_id=reply_id, error=error, attempt=attempt, final=final, actor=actor
        )

    @event("ReplyDeliveryFailed")
    def _reply_delivery_failed(
        self, reply_id: str, error: str, attempt: int, final: bool, actor: str
    ) -> None:
        self.replies[reply_id] = "failed" if final else "queued"

    def record_bounce(
        self, reply_id: str, reason: str, external_id: str, details: dict[str, Any], actor: str
    ) -> bool:
        """A bounce (a delivery status notification) says reply `reply_id` never
        reached the customer, although the relay took it.  Returns False when
        this bounce (by its own channel id) was recorded before."""
        if external_id in self.message_ids:
            return False
        self._reply_state(reply_id)  # NotFound: this request never sent that reply
        self._bounce_received(
            reply_id=reply_id, reason=reason, external_id=external_id, details=details,
            actor=actor,
        )
        return True

    @event("BounceReceived")
    def _bounce_received(
        self, reply_id: str, reason: str, external_id: str, details: dict[str, Any], actor: str
    ) -> None:
        self.replies[reply_id] = "failed"
        self.message_ids.append(external_id)

    def _reply_state(self, reply_id: str) -> str:
        try:
            return self.replies[reply_id]
        except KeyError:
            raise NotFound(f"{self.reference} has no reply {reply_id}") from None

    def add_note(self, body: str, attachments: list[Attachment], actor: str) -> None:
        if not body.strip():
            raise InvalidInput("a note needs a body", fields={"body": "must not be empty"})
        self._note_added(body=body, attachments=attachments, actor=actor)

    @event("NoteAdded")
    def _note_added(self, body: str, attachments: list[Attachment], actor: str) -> None:
        """Internal: never sent to the customer."""

    @event("CallLogged")
    def log_call(
        self,
        call_id: str,
        direction: str,
        number: str,
        agent: str | None,
        started_at: datetime,
        ended_at: datetime | None,
        notes: str,
        actor: str,
    ) -> None:
        self.message_ids.append(call_id)

    # --- handling ----------------------------------------------------------

    def assign(self, assignee: str, actor: str, reason: str = "") -> None:
        if assignee == self.assignee:
            raise InvalidTransition(f"{self.reference} is already assigned to {assignee}")
        if self.assignee is None:
            self._assigned(assignee=assignee, actor=actor)
        else:
            self._transferred(
                from_assignee=self.assignee, to_assignee=assignee, reason=reason, actor=actor
            )

    @event("Assigned")
    def _assigned(self, assignee: str, actor: str) -> None:
        self.assignee = assignee
        if self.status == "new":
            self.status = "open"

    @event("Transferred")
    def _transferred(self, from_assignee: str, to_assignee: str, reason: str, actor: str) -> None:
        """业务移交: work handed from one member of staff to another."""
        self.assignee = to_assignee

    def transfer_to_team(self, team: str, reason: str, actor: str) -> None:
        """业务移交 to a team's queue: the team is set and the assignee cleared."""
        if team == self.team and self.assignee is None:
            raise InvalidTransition(f"{self.reference} is already in team {team}'s queue")
        self._transferred_to_team(from_assignee=self.assignee, from_team=self.team, team=team,
                                  reason=reason, actor=actor)

    @event("TransferredToTeam")
    def _transferred_to_team(self, from_assignee: str | None, from_team: str | None, team: str,
                             reason: str, actor: str) -> None:
        self.assignee = None
        self.team = team

    def urge(self, message: str, actor: str) -> None:
        """催办: the assignee (or the team) is pressed; counted in reports."""
        if not self.is_open:
            raise InvalidTransition(f"{self.reference} is {self.status}: nothing to urge")
        self._urged(assignee=self.assignee, team=self.team, message=message, actor=actor)

    @event("Urged")
    def _urged(self, assignee: str | None, team: str | None, message: str, actor: str) -> None:
        self.urges = getattr(self, "urges", 0) + 1

    def change_status(self, status: str, actor: str, reason: str = "") -> None:
        if status == "escalated":
            self.escalate(reason=reason, actor=actor)
        elif status == "resolved":
            self.resolve(resolution=reason, actor=actor)
        elif status == "closed":
            self.close(actor=actor)
        elif status == "open" and not self.is_open:
            self.reopen(reason=reason, actor=actor)
        else:
            self._check_transition(status)
            self._status_changed(
                from_status=self.status, to_status=status, reason=reason, actor=actor
            )

    @event("StatusChanged")
    def _status_changed(self, from_status: str, to_status: str, reason: str, actor: str) -> None:
        self.status = to_status

    def escalate(
        self, reason: str, actor: str, level: int | None = None, due_at: datetime | None = None
    ) -> None:
        self._check_transition("escalated", allow_same=True)
        self._escalated(
            level=level or self.escalation_level + 1, reason=reason, due_at=due_at, actor=actor
        )

    @event("Escalated")
    def _escalated(self, level: int, reason: str, due_at: datetime | None, actor: str) -> None:
        self.escalation_level = level
        self.status = "escalated"
        self.escalation_due_at = due_at

    # --- SLA timers (policies.sla_timers) ----------------------------------

    def record_sla(self, kind: str, target: str, due_at: datetime, actor: str) -> bool:
        """`kind` warned or breached for `target` due at `due_at`; False (and
        nothing recorded) when the request is no longer open or it was recorded."""
        key = sla_mark(kind, target, due_at)
        if not self.is_open or key in self.sla_marks:
            return False
        if kind == "warned":
            self._sla_warned(target=target, due_at=due_at, actor=actor)
        else:
            self._sla_breached(target=target, due_at=due_at, actor=actor)
        return True

    @event("SlaWarned")
    def _sla_warned(self, target: str, due_at: datetime, actor: str) -> None:
        self.sla_marks.add(sla_mark("warned", target, due_at))

    @event("SlaBreached")
    def _sla_breached(self, target: str, due_at: datetime, actor: str) -> None:
        self.sla_marks.add(sla_mark("breached", target, due_at))

    def miss_handover(self, due_at: datetime, escalate_to: str, actor: str) -> bool:
        """Seed 001's 15 minutes passed and nobody took the request; False when
        somebody did, it is no longer open, or this was recorded before."""
        key = sla_mark("handover", "handover", due_at)
        if not self.is_open or self.assignee is not None or key in self.sla_marks:
            return False
        self._handover_missed(due_at=due_at, escalate_to=escalate_to, actor=actor)
        return True

    @event("HandoverMissed")
    def _handover_missed(self, due_at: datetime, escalate_to: str, actor: str) -> None:
        self.sla_marks.add(sla_mark("handover", "handover", due_at))

    def escalation_overdue(self, due_at: datetime, actor: str) -> bool:
        """An escalation's deadline passed unsolved: one level up, once per
        deadline.  False when a later escalation replaced that deadline, the
        request is solved, or this deadline was handled before."""
        if not self.is_open or self.escalation_due_at is None or \
                self.escalation_due_at != due_at:
            return False
        self._escalation_overdue(due_at=due_at, from_level=self.escalation_level,
                                 to_level=self.escalation_level + 1, actor=actor)
        return True

    @event("EscalationOverdue")
    def _escalation_overdue(self, due_at: datetime, from_level: int, to_level: int,
                            actor: str) -> None:
        self.escalation_level = to_level
        self.status = "escalated"
        self.escalation_due_at = None

    def resolve(self, resolution: str, actor: str) -> None:
        self._check_transition("resolved")
        self._resolved(resolution=resolution, actor=actor)

    @event("Resolved")
    def _resolved(self, resolution: str, actor: str) -> None:
        self.status = "resolved"
        self.resolutions += 1

    def close(self, actor: str) -> None:
        self._check_transition("closed")
        self._closed(actor=actor)

    @event("Closed")
    def _closed(self, actor: str) -> None:
        self.status = "closed"

    def reopen(self, reason: str, actor: str) -> None:
        if self.is_open:
            raise InvalidTransition(f"{self.reference} is {self.status}, not resolved or closed")
        self._reopened(reason=reason, actor=actor)

    @event("Reopened")
    def _reopened(self, reason: str, actor: str) -> None:
        self.status = "open"

    def change_priority(self, priority: str, actor: str) -> None:
        if priority != self.priority:
            self._priority_changed(priority=priority, actor=actor)

    @event("PriorityChanged")
    def _priority_changed(self, priority: str, actor: str) -> None:
        self.priority = priority

    def rate_satisfaction(self, score: int, comment: str, actor: str,
                          resolution: int | None = None) -> None:
        """One rating per resolution: a reopened and resolved-again request may
        be rated again.  `resolution`: the one a survey link asked about; a link
        from before a reopening no longer rates."""
        if not 1 <= score <= 5:
            raise InvalidInput("score must be 1 to 5", fields={"score": "must be 1 to 5"})
        if self.is_open:
            raise InvalidTransition(f"{self.reference} can be rated once it is resolved")
        if resolution is not None and resolution != self.resolutions:
            raise InvalidTransition(
                f"this survey was for an earlier resolution of {self.reference}")
        if self.resolutions and self.rated_resolution == self.resolutions:
            raise InvalidTransition(f"{self.reference} is already rated for this resolution")
        self._satisfaction_rated(score=score, comment=comment, actor=actor)

    @event("SatisfactionRated")
    def _satisfaction_rated(self, score: int, comment: str, actor: str) -> None:
        self.satisfaction = score
        self.rated_resolution = self.resolutions

    @event("ReferenceClaimed")
    def record_claim(self, claimed: str, sender: str, actor: str) -> None:
        """The message that opened this request names `claimed`, a request of
        another customer, but came from someone that request does not know; an
        agent decides whether the two belong together."""

    @event("CustomerChanged")
    def change_customer(self, from_code: str, to_code: str, actor: str) -> None:
        """The request moves to another customer (a provisional one was merged)."""
        self.customer_code = to_code

    def _check_transition(self, status: str, *, allow_same: bool = False) -> None:
        if status == self.status and not allow_same:
            raise InvalidTransition(f"{self.reference} is already {status}")
        if status != self.status and status not in TRANSITIONS[self.status]:
            raise InvalidTransition(
                f"{self.reference} is {self.status}; it cannot become {status}"
            )
