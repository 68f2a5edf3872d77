"""Raw mail in, one RecordInbound command out.

The raw bytes are kept in the blob store first, then parsed; a message that
cannot be parsed is still recorded (flagged, with its raw blob) so an agent sees
it.  Threading clues (our own Message-IDs, In-Reply-To/References, the
``[SR-…]`` token) are passed as hints: the domain decides which request, if any,
the message joins.  Acknowledgements are a policy's business (policies.acknowledge).

Automatic mail is recorded but starts no response clock and is never acknowledged:

- An auto-reply (an out-of-office, a list) goes the way of any mail: it joins its
  thread when it has one, and otherwise opens a request of its own.  Opening one
  is deliberate: the desk keeps every message on a request, and an agent should see
  a vacation notice or list mail nobody expected (it may name a new contact, or show
  a customer address going stale); without a clock it never shows as at risk, and
  closing it is one click.  Dropping it silently is what "recorded" forbids.
- A bounce that returns one of our replies (found by the Message-ID we gave it,
  which carries the reply id and the reference) opens nothing: RecordBounce marks
  that reply failed with the bounce's reason, and the inbox lists the request
  under delivery_failed.
- A bounce that returns nothing we can place (a reply we never sent, backscatter, a
  delay warning rather than a failure) is recorded like an auto-reply: on a
  request without a clock, its raw bytes in the blob store, for an agent to judge.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from channels.email.composing import parse_own_message_id, reference_in_own_message_id
from channels.email.parsing import (
    BounceReport,
    MalformedEmail,
    ParsedEmail,
    find_reference,
    parse_email,
)
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore, BlobTooLarge
from domain.errors import NotFound
from domain.requests.batch import RecordInboundBatch
from domain.requests.commands import InboundMessage, RecordBounce, Recorded, RecordInbound
from domain.text import clean

log = logging.getLogger(__name__)

UNKNOWN_SENDER = "unknown-sender@invalid"
MALFORMED_SUBJECT = "[unreadable message]"
# The raw message is the record of what arrived, so it is kept even when an attachment in it
# is over the attachment limit; only something absurd is refused.
RAW_MESSAGE_LIMIT = 64 * 1024 * 1024
# Mail from a fax-to-mail gateway: sender address -> how to record the message as a fax
# (channels.fax_ocr.channel.FaxChannel.mail_hook: given the attachments as (bytes, filename),
# the subject, the kept raw mail and the dedupe key), or None for other senders.
FaxMailHook = Callable[
    [str],
    Callable[[list[tuple[bytes, str]], str, dict[str, Any] | None, str], Recorded] | None]


@dataclass(frozen=True)
class MessageOutcome:
    recorded: Recorded
    malformed: bool
    bounce: bool = False  # tied to the reply it returns; no request was opened


class MessageRecorder:
    """Raw bytes in, one recorded interaction out. Blocking."""

    def __init__(self, app: Ledgerdesk, blobs: BlobStore, mail_from: str | None = None) -> None:
        """`mail_from`: our support address; when given, a bounce is tied to a reply only
        through a Message-ID at its domain (the one our sender writes)."""
        self.app = app
        self.blobs = blobs
        self.raw_blobs = BlobStore(blobs.root, max(blobs.max_bytes, RAW_MESSAGE_LIMIT))
        address = parseaddr(mail_from or "")[1]
        self.own_domain = address.rpartition("@")[2].lower() or None
        self.fax_mail: FaxMailHook | None = None

    def record(self, raw: bytes) -> MessageOutcome:
        prepared = self._prepare(raw)
        if isinstance(prepared, MessageOutcome):
            return prepared
        message, malformed = prepared
        return MessageOutcome(self.app.handle(RecordInbound(message)), malformed=malformed)

    def record_many(self, raws: Sequence[bytes]) -> list[MessageOutcome | Exception]:
        """Several messages (one IMAP fetch), recorded in one atomic save
        (domain.requests.batch), each once.  Per message, in order: its outcome,
        or the error that kept it from being recorded (it stays in the mailbox)."""
        results: list[MessageOutcome | Exception | None] = []
        batch: list[tuple[int, InboundMessage, bool]] = []
        for raw in raws:
            try:
                prepared = self._prepare(raw)
            except Exception as error:
                log.exception("preparing an inbound email failed")
                results.append(error)
                continue
            if isinstance(prepared, MessageOutcome):  # a bounce or a fax: recorded on its own
                results.append(prepared)
            else:
                batch.append((len(results), *prepared))
                results.append(None)
        if batch:
            outcomes = self.app.handle(RecordInboundBatch(tuple(m for _, m, _ in batch)))
            for (i, _, malformed), outcome in zip(batch, outcomes, strict=True):
                results[i] = (MessageOutcome(outcome, malformed=malformed)
                              if isinstance(outcome, Recorded) else outcome)
        return [r if r is not None else RuntimeError("not recorded") for r in results]

    def _prepare(self, raw: bytes) -> MessageOutcome | tuple[InboundMessage, bool]:
        """The message to record (and whether it was unreadable), or the outcome
        of one recorded another way (a bounce tied to our reply, a fax)."""
        details: dict[str, Any] = {}
        try:
            # The whole reference: it holds the raw mail's key (domain.blobstore).
            details["raw"] = self.raw_blobs.put(raw, "message.eml", "message/rfc822")
        except BlobTooLarge as error:
            details["raw_rejected"] = str(error)
        try:
            parsed = parse_email(raw)
        except MalformedEmail as error:
            return self._malformed(raw, details, error.reason), True
        except Exception as error:  # a parser bug must flag the message, not stop the mailbox
            log.exception("parsing an inbound email failed")
            return self._malformed(raw, details, f"the message could not be read: {error}"), True
        if parsed.bounce is not None and parsed.bounce.failed:
            outcome = self._record_bounce(parsed, parsed.bounce, details)
            if outcome is not None:
                return outcome
        hook = self.fax_mail(parsed.sender_address) if self.fax_mail else None
        if hook is not None:  # a gateway's mail is a fax, even one with none readable in it
            recorded = hook([(a.data, a.filename) for a in parsed.attachments], parsed.subject,
                            details.get("raw"), parsed.dedupe_key)
            return MessageOutcome(recorded, malformed=False)  # the raw mail stays in blobs
        return self._inbound(parsed, details), False

    def _record_bounce(
        self, parsed: ParsedEmail, bounce: BounceReport, details: dict[str, Any]
    ) -> MessageOutcome | None:
        """Tie a bounce to the reply it returns; None when it returns none of ours."""
        extras = {**details, "message_id": parsed.message_id,
                  "recipients": list(bounce.recipients), "status": bounce.status}
        for message_id in bounce.message_ids:
            own = parse_own_message_id(message_id)
            if own is None or (self.own_domain is not None and own.domain != self.own_domain):
                continue
            try:
                recorded = self.app.handle(RecordBounce(
                    own.reference, own.outbound_id, bounce.reason,
                    external_id=parsed.dedupe_key, actor=f"email:{parsed.sender_address}",
                    details={**extras, "returned": message_id},
                ))
            except NotFound:
                continue  # shaped like ours, but no such request or reply: try the next id
            return MessageOutcome(recorded, malformed=False, bounce=True)
        return None

    def _inbound(self, parsed: ParsedEmail, details: dict[str, Any]) -> InboundMessage:
        attachments, rejected = self._store_attachments(parsed)
        sender = parsed.sender_address
        if not _usable_address(sender):
            details["original_sender"] = sender
            sender = UNKNOWN_SENDER
        details.update(
            message_id=parsed.message_id,
            in_reply_to=parsed.in_reply_to,
            references=list(parsed.references),
            to=list(parsed.to),
            auto_reply=parsed.auto_reply_reason,
            bounce=parsed.is_bounce,
        )
        if parsed.bounce is not None:
            details.update(bounce_reason=parsed.bounce.reason,
                           returned=list(parsed.bounce.message_ids))
        if rejected:
            details["rejected_attachments"] = rejected
        return InboundMessage(
            channel="email",
            external_id=parsed.dedupe_key,
            sender=sender,
            body=parsed.body,
            subject=parsed.subject,
            sender_name=parsed.sender_name,
            attachments=tuple(attachments),
            occurred_at=parsed.date,
            thread_hints=self._thread_hints(parsed),
            details=details,
            automatic=parsed.auto_reply_reason is not None or parsed.is_bounce,
        )

    def _store_attachments(
        self, parsed: ParsedEmail
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        stored: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for attachment in parsed.attachments:
            try:
                reference = self.blobs.put(
                    attachment.data, attachment.filename, attachment.content_type
                )
            except BlobTooLarge as error:
                rejected.append(
                    {
                        "filename": attachment.filename,
                        "content_type": attachment.content_type,
                        "size": len(attachment.data),
                        "reason": str(error),
                    }
                )
                continue
            stored.append(
                {**reference, "inline": attachment.inline, "content_id": attachment.content_id}
            )
        return stored, rejected

    @staticmethod
    def _thread_hints(parsed: ParsedEmail) -> tuple[str, ...]:
        """Clues to the thread, best first: In-Reply-To, then References newest first (each
        either one of our own Message-IDs, which carry the reference, or a message we
        received), then the subject's [SR-…] token."""
        hints: list[str] = []
        ids = [parsed.in_reply_to] if parsed.in_reply_to else []
        for message_id in [*ids, *reversed(parsed.references)]:
            hints.append(reference_in_own_message_id(message_id) or message_id)
        token = find_reference(parsed.subject)
        if token is not None:
            hints.append(token)
        return tuple(dict.fromkeys(hints))

    def _malformed(self, raw: bytes, details: dict[str, Any], reason: str) -> InboundMessage:
        # The reason may quote the mail (an exception's text): it is stored, so cleaned.
        reason = clean(reason)
        details["malformed"] = reason
        sender = _best_effort_sender(raw)
        return InboundMessage(
            channel="email",
            external_id="sha256:" + hashlib.sha256(raw).hexdigest(),
            sender=sender,
            body=f"This message could not be read ({reason}). The raw message is kept.",
            subject=MALFORMED_SUBJECT,
            details=details,
        )


_FROM_ADDRESS = re.compile(
    rb"^(?:from|sender|return-path)\s*:[^\n]*?([\w.+-]+@[\w-]+(?:\.[\w-]+)+)",
    re.IGNORECASE | re.MULTILINE,
)


def _best_effort_sender(raw: bytes) -> str:
    match = _FROM_ADDRESS.search(raw[:65536])
    if match is None:
        return UNKNOWN_SENDER
    return match.group(1).decode("ascii", "replace").lower()


def _usable_address(address: str) -> bool:
    local, _, domain = address.partition("@")
    return bool(local) and "." in domain and not any(c.isspace() for c in address)


