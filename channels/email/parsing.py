"""Turn the raw bytes of one inbound email into the facts the service desk needs.

Pure functions, no I/O. The standard ``email`` package (``policy.default``) splits the MIME
tree; header text and charsets are decoded in ``mail_text`` and the parts walked in
``mail_parts``, because real-world Chinese mail breaks the rules in ways the library decodes
into replacement characters: GBK text labelled ``gb2312``, unencoded 8-bit headers,
multi-byte characters split across two encoded words.

Everything handed on is storable text (``domain.text.clean``): a NUL, another control
character or a lone surrogate left by bad decoding would have the command refused and the
mail stuck in the mailbox. The raw bytes, kept in the blob store, stay as they arrived.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from channels.email.bounces import UNDELIVERED, BounceReport, is_bounce, read_bounce
from channels.email.mail_parts import (
    ParsedAttachment,
    _charset_of,
    _children,
    _collect,
    _Collected,
)
from channels.email.mail_text import (
    _FOLD,
    _addresses,
    _codecs_for,
    _id_list,
    _raw_header,
    _raw_headers,
    decode_bytes,
    decode_header_text,
    normalise_message_id,
)
from channels.email.quotes import trim_quoted
from domain.text import clean

__all__ = [
    "BounceReport",
    "MalformedEmail",
    "ParsedAttachment",
    "ParsedEmail",
    "decode_bytes",
    "decode_header_text",
    "find_reference",
    "normalise_message_id",
    "parse_email",
    "trim_quoted",
]


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str | None
    # "<message-id>" when the mail has one, else "sha256:<hex of the raw bytes>".
    dedupe_key: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    sender_address: str
    sender_name: str
    to: tuple[str, ...]
    date: datetime | None
    # What a timeline shows: the customer's new text, quoted earlier replies trimmed.
    body: str
    full_body: str
    attachments: tuple[ParsedAttachment, ...]
    # Why this is automatic mail that must never be answered automatically; None for a person.
    auto_reply_reason: str | None
    is_bounce: bool
    # What the bounce says (the mail it returns, why); None unless is_bounce.
    bounce: BounceReport | None = None


class MalformedEmail(ValueError):
    """Nothing usable could be read; ``reason`` says why, in words an agent understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_REFERENCE = re.compile(r"\[\s*(SR-\d{6,})\s*\]", re.IGNORECASE)


def find_reference(subject: str) -> str | None:
    """The service-request reference carried as ``[SR-000123]`` in a subject, upper-cased."""
    match = _REFERENCE.search(subject)
    return match.group(1).upper() if match else None


# --- automatic mail -------------------------------------------------------------------------


def _auto_reply_reason(message: Message) -> str | None:
    auto_submitted = _raw_header(message, "auto-submitted")
    if auto_submitted is not None:
        kind = auto_submitted.split(";")[0].strip().lower()
        if kind and kind != "no":
            return f"Auto-Submitted: {kind}"
    precedence = _raw_header(message, "precedence")
    if precedence is not None and precedence.strip().lower() in {"bulk", "junk", "list"}:
        return f"Precedence: {precedence.strip().lower()}"
    # Not X-Auto-Response-Suppress: it asks others not to auto-reply to this mail, which
    # Outlook sets on mail people write (and we set on our acknowledgements).
    for header in ("X-Autoreply", "X-Autorespond"):
        value = _raw_header(message, header)
        if value is not None and value.strip():
            return f"{header}: {value.strip()}"
    return None


def _walk(message: Message) -> Iterator[Message]:
    yield message
    for child in _children(message):
        yield from _walk(child)


# --- entry point --------------------------------------------------------------------------


def _first_charset(message: Message) -> str | None:
    """The first charset the body declares: the best guess for unencoded 8-bit headers."""
    for part in _walk(message):
        charset = _charset_of(part)
        if _codecs_for(charset):
            return charset
    return None


def _date(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        parsed = parsedate_to_datetime(_FOLD.sub("", raw).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        # RFC 5322 "-0000": the zone is unknown, and UTC is the honest reading.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_FIRST_HEADER = re.compile(rb"[!-9;-~]+[ \t]*:")
_MBOX_SEPARATOR = re.compile(rb"From [^\r\n]*\r?\n")
_MBOX_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


def _without_mbox_envelope(raw: bytes) -> bytes:
    """A message saved from an mbox starts with a "From sender date" line and has its body
    lines "From " written as ">From ". Both are the mailbox's, not the message's."""
    match = _MBOX_SEPARATOR.match(raw)
    if match is None:
        return raw
    return _MBOX_QUOTED_FROM.sub(rb"\1", raw[match.end():])


def _reject_unusable(raw: bytes) -> None:
    if not raw.strip():
        raise MalformedEmail("the message is empty")
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    # A stray NUL inside real headers is a defect to live with; binary data from the first
    # byte on (an image, an archive) is not an email at all.
    if b"\x00" in head and not _FIRST_HEADER.match(raw):
        raise MalformedEmail("the data is binary, not an email")


def parse_email(raw: bytes) -> ParsedEmail:
    """Read one raw RFC 5322 message. Defects are tolerated; only unusable input raises."""
    content = _without_mbox_envelope(raw)
    _reject_unusable(content)
    return _storable(_parse(content, raw))


def _parse(content: bytes, raw: bytes) -> ParsedEmail:
    """`content`: the message itself; `raw`: the bytes as received, by whose hash a message
    without a Message-ID is known (as the recorder knows an unreadable one)."""
    message = BytesParser(policy=policy.default).parsebytes(content)
    if not message.keys():
        raise MalformedEmail("no email headers were found; the data is not an email")
    hint = _first_charset(message)

    senders = _addresses(_raw_header(message, "from"), hint) or _addresses(
        _raw_header(message, "sender"), hint
    )
    senders = [(name, address) for name, address in senders if address]
    if not senders:
        raise MalformedEmail("the message has no From address")
    sender_name, sender_address = senders[0]

    found = _Collected(texts=[], attachments=[])
    _collect(message, found, mode="body", in_related=False, charset_hint=hint)
    full_body = "\n\n".join(text.replace("\r\n", "\n").rstrip() for text in found.texts).strip()

    message_id = normalise_message_id(_raw_header(message, "message-id"))
    references: list[str] = []
    for value in _raw_headers(message, "references"):
        references.extend(ref for ref in _id_list(value) if ref not in references)
    in_reply_to_ids = _id_list(_raw_header(message, "in-reply-to"))
    subject_raw = _raw_header(message, "subject")
    auto_reply_reason = _auto_reply_reason(message)
    bounce = is_bounce(message, sender_address, auto_reply_reason is not None)
    return ParsedEmail(
        message_id=message_id,
        dedupe_key=message_id or "sha256:" + hashlib.sha256(raw).hexdigest(),
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        references=tuple(references),
        subject=decode_header_text(subject_raw, hint) if subject_raw is not None else "",
        sender_address=sender_address,
        sender_name=sender_name,
        to=tuple(address for _name, address in _addresses(_raw_header(message, "to"), hint)),
        date=_date(_raw_header(message, "date")),
        body=trim_quoted(full_body) if full_body else "",
        full_body=full_body,
        attachments=tuple(found.attachments),
        auto_reply_reason=auto_reply_reason,
        is_bounce=bounce,
        bounce=read_bounce(message, content, full_body) if bounce else None,
    )


def _storable(parsed: ParsedEmail) -> ParsedEmail:
    """Every text field cleaned of what a command would refuse (see the module docstring)."""
    message_id = _clean_message_id(parsed.message_id)
    bounce = parsed.bounce
    if bounce is not None:
        bounce = replace(
            bounce, reason=clean(bounce.reason) or UNDELIVERED,
            status=_clean_optional(bounce.status),
            message_ids=_clean_message_ids(bounce.message_ids),
            recipients=_clean_texts(bounce.recipients),
        )
    return replace(
        parsed,
        message_id=message_id,
        dedupe_key=message_id or parsed.dedupe_key,
        in_reply_to=_clean_message_id(parsed.in_reply_to),
        references=_clean_message_ids(parsed.references),
        subject=clean(parsed.subject),
        sender_address=clean(parsed.sender_address),
        sender_name=clean(parsed.sender_name),
        to=_clean_texts(parsed.to),
        body=clean(parsed.body),
        full_body=clean(parsed.full_body),
        attachments=tuple(
            replace(a, filename=clean(a.filename) or "attachment",
                    content_type=clean(a.content_type),
                    content_id=_clean_optional(a.content_id))
            for a in parsed.attachments
        ),
        auto_reply_reason=_clean_optional(parsed.auto_reply_reason),
        bounce=bounce,
    )


def _clean_optional(value: str | None) -> str | None:
    return (clean(value) or None) if value is not None else None


def _clean_message_id(value: str | None) -> str | None:
    return normalise_message_id(clean(value)) if value is not None else None


def _clean_message_ids(values: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = (_clean_message_id(value) for value in values)
    return tuple(dict.fromkeys(value for value in cleaned if value is not None))


def _clean_texts(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in map(clean, values) if value))
