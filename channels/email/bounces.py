"""Bounces: is this mail a delivery failure report, which of our mails does it return, and why.

A standard bounce is a delivery status notification (RFC 3464): ``multipart/report;
report-type=delivery-status`` with a human-readable part, a ``message/delivery-status`` part
(per recipient: Final-Recipient, Action, Status, Diagnostic-Code) and the returned mail
(``message/rfc822``) or only its headers (``text/rfc822-headers``). Many servers send
something looser from MAILER-DAEMON or postmaster, quoting the returned mail as text. So the
returned Message-IDs are gathered from every place they turn up, best evidence first; which of
them is ours is the recorder's business.

Only the bounce's own structure counts, never a mail attached to it: a customer forwarding a
bounce as an attachment wrote a normal mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser

from channels.email.mail_parts import _children, _payload_bytes
from channels.email.mail_text import (
    _FOLD,
    _id_list,
    _raw_header,
    _raw_headers,
    decode_bytes,
    normalise_message_id,
)

REPORT_TYPES = {"message/delivery-status", "message/global-delivery-status"}
RETURNED_MAIL_TYPES = {"message/rfc822", "message/global"}
RETURNED_HEADER_TYPES = {"text/rfc822-headers", "message/global-headers"}
DAEMON_SENDERS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
MAX_REASON = 500
UNDELIVERED = "the message came back undelivered"


@dataclass(frozen=True)
class BounceReport:
    # Message-IDs of the mail that came back, best evidence first.
    message_ids: tuple[str, ...]
    # Why, in the reporting server's words: each failed recipient's Diagnostic-Code or
    # Status, else the first lines of its explanation.
    reason: str
    recipients: tuple[str, ...]
    status: str | None
    # False for a report that only says delivery is delayed (or succeeded): not a failure.
    failed: bool


def is_bounce(message: Message, sender_address: str, auto_reply: bool) -> bool:
    """Decided by the top-level structure and sender only (see the module docstring)."""
    if message.get_content_type() == "multipart/report":
        report_type = message.get_param("report-type")
        if isinstance(report_type, str) and report_type.lower() == "delivery-status":
            return True
    if any(part.get_content_type() in REPORT_TYPES for part in _children(message)):
        return True
    if sender_address.split("@")[0] in DAEMON_SENDERS:
        return True
    # RFC 3834 asks auto-replies to use the null return path too, so alone it only means a
    # bounce when the mail does not say it is an auto-reply.
    return_path = _raw_header(message, "return-path")
    return (not auto_reply and return_path is not None
            and re.sub(r"[\s<>]", "", return_path) == "")


def read_bounce(message: Message, raw: bytes, explanation: str) -> BounceReport:
    """What a bounce says. `explanation`: its human-readable text (the parsed body)."""
    parts = list(_own_parts(message))
    recipients = [block for part in parts if part.get_content_type() in REPORT_TYPES
                  for block in _recipient_blocks(part)]
    actions = [(_field(block, "action") or "").lower() for block in recipients]
    failed_blocks = [b for b, action in zip(recipients, actions, strict=True)
                     if action in ("failed", "")]
    failed = bool(failed_blocks) or not recipients
    shown = failed_blocks or recipients
    statuses = [status for block in shown if (status := _field(block, "status"))]
    return BounceReport(
        message_ids=_returned_ids(message, parts, raw),
        reason=_reason(shown, explanation),
        recipients=tuple(dict.fromkeys(
            _typed_value(r) for block in shown if (r := _field(block, "final-recipient"))
        )),
        status=statuses[0] if statuses else None,
        failed=failed,
    )


def _own_parts(message: Message) -> Iterator[Message]:
    """The bounce's MIME tree; message/* parts are leaves (their insides are returned mail)."""
    yield message
    if message.get_content_maintype() == "multipart":
        for child in _children(message):
            yield from _own_parts(child)


def _recipient_blocks(report: Message) -> list[Message]:
    """The per-recipient field groups of a delivery-status part (the first is per-message)."""
    blocks = _children(report)
    if not blocks:
        # Not split by the library (an odd content type): parse the groups ourselves.
        text = _payload_bytes(report).replace(b"\r\n", b"\n")
        blocks = [BytesParser(policy=policy.default).parsebytes(chunk + b"\n\n")
                  for chunk in re.split(rb"\n[ \t]*\n", text) if chunk.strip()]
    return [block for block in blocks
            if _field(block, "final-recipient") or _field(block, "action")]


def _field(block: Message, name: str) -> str | None:
    value = _raw_header(block, name)
    if value is None:
        return None
    return " ".join(_FOLD.sub("", value).split()) or None


def _typed_value(value: str) -> str:
    """``rfc822; x@example.org`` -> ``x@example.org``; ``smtp; 550 ...`` -> ``550 ...``."""
    kind, separator, rest = value.partition(";")
    return rest.strip() if separator and " " not in kind.strip() else value.strip()


def _reason(blocks: list[Message], explanation: str) -> str:
    reasons: list[str] = []
    for block in blocks:
        diagnostic = _field(block, "diagnostic-code")
        status = _field(block, "status")
        recipient = _field(block, "final-recipient")
        said = _typed_value(diagnostic) if diagnostic else (f"status {status}" if status else "")
        if said and status and status not in said:
            said += f" ({status})"
        if said:
            reasons.append(f"{_typed_value(recipient)}: {said}" if recipient else said)
    if not reasons:
        lines = [line.strip() for line in explanation.splitlines() if line.strip()]
        reasons = lines[:3]
    text = "; ".join(dict.fromkeys(reasons)) or UNDELIVERED
    return text[:MAX_REASON]


# A header line of the returned mail quoted in a loose bounce's text (maybe behind "> ").
_QUOTED_MESSAGE_ID = re.compile(rb"^[ \t>]*Message-ID:[ \t]*(<[^<>\s]+>)",
                                re.IGNORECASE | re.MULTILINE)
# One of our own Message-IDs (channels.email.composing) anywhere in the bytes.
_OWN_ID_SHAPE = re.compile(rb"<(?:reply|ack)-[A-Za-z0-9_-]+\.SR-\d{6,}@[A-Za-z0-9.-]+>")


def _returned_ids(message: Message, parts: list[Message], raw: bytes) -> tuple[str, ...]:
    found: list[str | None] = []
    for part in parts:
        kind = part.get_content_type()
        if kind in RETURNED_MAIL_TYPES:
            found.extend(_raw_header(child, "message-id") for child in _children(part))
        elif kind in RETURNED_HEADER_TYPES:
            headers = BytesParser(policy=policy.default).parsebytes(
                _payload_bytes(part), headersonly=True)
            found.append(_raw_header(headers, "message-id"))
    # Some servers thread the bounce itself onto the mail it returns.
    found.extend(_id_list(_raw_header(message, "in-reply-to")))
    for value in reversed(_raw_headers(message, "references")):
        found.extend(reversed(_id_list(value)))
    # Loose bounces quote the returned headers, or just mention the id, in their text.
    body = raw.split(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[-1]
    found.extend(decode_bytes(m.group(1), "ascii") for m in _QUOTED_MESSAGE_ID.finditer(body))
    found.extend(decode_bytes(m.group(0), "ascii") for m in _OWN_ID_SHAPE.finditer(body))
    ids = (normalise_message_id(value) for value in found)
    return tuple(dict.fromkeys(value for value in ids if value is not None))
