"""Commands of the service-requests context, and the shapes of inbound interactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.aggregates.service_request import Attachment
from domain.store import SYSTEM


@dataclass(frozen=True)
class InboundMessage:
    """One customer message from any channel, as the channel adapter understood it."""

    channel: str
    external_id: str  # the channel's own id: Message-ID, Telegram update id, fax hash...
    sender: str  # an identity value on that channel (address, number, Telegram id)
    body: str
    subject: str = ""
    sender_name: str = ""
    attachments: tuple[Attachment, ...] = ()
    occurred_at: datetime | None = None
    reference: str | None = None  # a request named outright (must exist)
    customer_code: str | None = None  # set when the sender is a signed-in customer
    request_type: str = "support"
    details: dict[str, Any] = field(default_factory=dict)
    # Softer threading clues, best first: request references (SR-…) the channel
    # found, or channel ids this message answers (looked up in the receipt index).
    thread_hints: tuple[str, ...] = ()
    # Sent by a machine (an auto-reply, a bounce nobody could place): recorded,
    # but it starts no response clock and is never answered automatically.
    automatic: bool = False


@dataclass(frozen=True)
class FaxPage:
    """A received fax after OCR."""

    external_id: str  # sha256 of the fax file
    sender_number: str
    image: Attachment
    ocr_text: str
    confidence: float
    pages: int
    occurred_at: datetime | None = None
    reference: str | None = None
    # What the channel read (domain.requests.fax.FAX_FIELDS): reference, customer_code,
    # phone, serial, sender_number; the page's claims, vetted by the domain.
    extracted: dict[str, str] = field(default_factory=dict)
    page_texts: tuple[str, ...] = ()
    page_confidences: tuple[float, ...] = ()
    previews: tuple[Attachment, ...] = ()  # a PNG per page, for the console
    low_confidence: bool = False  # the channel trusts none of what it read
    # Why nothing could be read (domain.requests.fax: UNREADABLE, NO_FAX_ATTACHED), if so.
    problem: str = ""


@dataclass(frozen=True)
class CorrectFax:
    """An agent's corrections of a fax's fields (FAX_FIELDS), and with `confirm`
    its verification: the fax then joins the corrected request or customer."""

    reference: str
    external_id: str
    corrections: dict[str, str]
    actor: str
    confirm: bool = False
    expected_version: int | None = None


@dataclass(frozen=True)
class Recorded:
    """What recording an inbound interaction did."""

    reference: str
    customer_code: str
    duplicate: bool = False  # seen before: nothing new was written
    new_request: bool = False
    new_customer: bool = False  # a provisional customer was created for the sender


@dataclass(frozen=True)
class OpenRequest:
    customer_code: str
    request_type: str
    subject: str
    actor: str
    description: str = ""
    channel: str = "web"
    priority: str = "normal"
    product: str | None = None


@dataclass(frozen=True)
class RecordInbound:
    """Idempotent by (channel, external id)."""

    message: InboundMessage
    actor: str | None = None


@dataclass(frozen=True)
class RecordFax:
    """Idempotent by the file's hash."""

    fax: FaxPage
    actor: str | None = None


@dataclass(frozen=True)
class LogCall:
    """A phone call, from the CTI webhook or logged by an agent.  Idempotent by call id."""

    call_id: str
    direction: str
    number: str
    started_at: datetime
    actor: str
    agent: str | None = None
    ended_at: datetime | None = None
    notes: str = ""
    reference: str | None = None
    customer_code: str | None = None


@dataclass(frozen=True)
class QueueReply:
    """An answer to the customer; a delivery policy hands it to the channel's sender.

    `channel` chooses another channel than the customer's latest; `reply_id`
    makes a policy's reply idempotent (its second try is refused, not doubled).
    """

    reference: str
    body: str
    actor: str
    attachments: Sequence[Attachment] = ()
    expected_version: int | None = None
    channel: str | None = None
    reply_id: str | None = None
    # Sent by the desk itself (an acknowledgement, a survey): not an answer, so
    # the request still waits for one and its response clock keeps running.
    automatic: bool = False


@dataclass(frozen=True)
class MarkReplyDelivered:
    reference: str
    reply_id: str
    external_id: str
    actor: str = SYSTEM


@dataclass(frozen=True)
class MarkReplyFailed:
    reference: str
    reply_id: str
    error: str
    attempt: int
    final: bool
    actor: str = SYSTEM


@dataclass(frozen=True)
class RecordBounce:
    """A bounce (delivery status notification) for reply `reply_id` of request
    `reference`: the reply shows as failed with `reason`; nothing is opened.
    Idempotent by `external_id`, the bounce's own channel id (its Message-ID).
    `details`: channel extras (the raw message's blob, the failed recipients)."""

    reference: str
    reply_id: str
    reason: str
    external_id: str
    actor: str = SYSTEM
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AddNote:
    """Internal: never sent to the customer."""

    reference: str
    body: str
    actor: str
    attachments: Sequence[Attachment] = ()
    expected_version: int | None = None


@dataclass(frozen=True)
class Assign:
    """Assign, or transfer (业务移交) when someone already has it."""

    reference: str
    assignee: str
    actor: str
    reason: str = ""
    expected_version: int | None = None


@dataclass(frozen=True)
class Transfer:
    """业务移交: to a member of staff (`to` an email) or to a team (`team:CODE`,
    which sets the team and clears the assignee)."""

    reference: str
    to: str
    reason: str
    actor: str
    expected_version: int | None = None


@dataclass(frozen=True)
class HandOver:
    """Transfer every open request `holder` is assigned, one command each;
    returns how many were moved."""

    holder: str
    to: str
    reason: str
    actor: str


@dataclass(frozen=True)
class Urge:
    """催办: a manager presses for progress on a request."""

    reference: str
    message: str
    actor: str
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangeStatus:
    reference: str
    status: str
    actor: str
    reason: str = ""
    expected_version: int | None = None


@dataclass(frozen=True)
class Escalate:
    reference: str
    reason: str
    actor: str
    level: int | None = None
    due_at: datetime | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangePriority:
    reference: str
    priority: str
    actor: str


@dataclass(frozen=True)
class RateSatisfaction:
    reference: str
    score: int
    comment: str
    actor: str
    resolution: int | None = None  # from a survey link: which resolution it asked about
    expected_version: int | None = None
