"""Build outbound mail that continues the customer's thread. Pure functions, no I/O.

Every header a mail client threads on is set here: the ``[SR-…]`` token and one "Re: " in the
subject, ``In-Reply-To`` and ``References``. The Message-ID is derived from the reply's own id,
so a delivery retried after a crash sends the same id and the customer's client sees one mail.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from channels.email.parsing import normalise_message_id

MAX_REFERENCES = 20

_REFERENCE_TOKEN = re.compile(r"\[\s*SR-\d+\s*\]", re.IGNORECASE)
# "Re:", "RE :", "Fwd:", "回复:", "答复：", "Re[2]:", repeated any number of times.
_REPLY_PREFIX = re.compile(
    r"^\s*((re|fw|fwd|aw|sv|vs)\s*(\[\d+\])?|回复|回覆|答复|转发|轉寄)\s*[:：]\s*", re.IGNORECASE
)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]+$")


def reply_subject(reference: str, subject: str) -> str:
    """``Re: [SR-000123] <subject>`` with the token and "Re: " each exactly once."""
    text = _REFERENCE_TOKEN.sub(" ", subject)
    while True:
        stripped = _REPLY_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    text = " ".join(text.split())
    return f"Re: [{reference}] {text}".rstrip()


def reply_message_id(kind: str, reply_id: str, domain: str) -> str:
    """A Message-ID fixed by the outgoing message's own id, e.g. ``<reply-ID@domain>``."""
    if not _SAFE_ID.match(reply_id):
        raise ValueError(f"reply id {reply_id!r} cannot be used in a Message-ID")
    if not domain or not re.match(r"^[A-Za-z0-9.-]+$", domain):
        raise ValueError(f"{domain!r} is not a usable Message-ID domain")
    return f"<{kind}-{reply_id}@{domain}>"


def threaded_outbound_id(outbound_id: str, reference: str) -> str:
    """The id part of our own Message-IDs: ``<reply-{id}.{SR-000123}@domain>``.

    The reference rides in the Message-ID because a customer's answer quotes it back in
    In-Reply-To/References even when the subject lost its ``[SR-…]`` token, and parsing it out
    needs no index of everything ever sent.
    """
    return f"{outbound_id}.{reference}"


_OWN_MESSAGE_ID = re.compile(
    r"^<(?P<kind>reply|ack)-(?P<outbound_id>[A-Za-z0-9_-]+)\.(?P<reference>SR-\d{6,})"
    r"@(?P<domain>[A-Za-z0-9.-]+)>$"
)


@dataclass(frozen=True)
class OwnMessageId:
    """What one of our own Message-IDs says: which outgoing message of which request."""

    kind: str  # "reply" or "ack"
    outbound_id: str  # the reply id the outbox delivered
    reference: str
    domain: str


def parse_own_message_id(message_id: str) -> OwnMessageId | None:
    """The parts :func:`reply_message_id` and :func:`threaded_outbound_id` put in, or None."""
    match = _OWN_MESSAGE_ID.match(message_id.strip())
    if match is None:
        return None
    return OwnMessageId(kind=match["kind"], outbound_id=match["outbound_id"],
                        reference=match["reference"].upper(), domain=match["domain"].lower())


def reference_in_own_message_id(message_id: str) -> str | None:
    """The reference embedded by :func:`threaded_outbound_id`, or None for any other id."""
    own = parse_own_message_id(message_id)
    return own.reference if own else None


def thread_references(references: Sequence[str], in_reply_to: str | None) -> tuple[str, ...]:
    """Earlier references then the message answered: deduplicated, order kept, last 20."""
    chain: list[str] = []
    for value in [*references, *([in_reply_to] if in_reply_to else [])]:
        normalised = normalise_message_id(value)
        if normalised is not None and normalised not in chain:
            chain.append(normalised)
    return tuple(chain[-MAX_REFERENCES:])


def _transfer_encoding(text: str) -> str:
    if text.isascii():
        return "7bit"
    # Mostly-Chinese text is a third smaller in base64 than in quoted-printable; mostly-Latin
    # text stays readable in quoted-printable. 8bit is avoided: not every relay takes it.
    wide = sum(1 for char in text if ord(char) > 0x7F)
    return "base64" if wide * 3 > len(text) else "quoted-printable"


def _message(
    *,
    subject: str,
    body: str,
    mail_from: str,
    to: str,
    message_id: str,
    in_reply_to: str | None,
    references: Sequence[str],
    sent_at: datetime | None,
) -> EmailMessage:
    message = EmailMessage(policy=policy.default)
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime((sent_at or datetime.now(UTC)).astimezone(UTC))
    message["Message-ID"] = message_id
    answered = normalise_message_id(in_reply_to)
    if answered is not None:
        message["In-Reply-To"] = answered
    chain = thread_references(references, answered)
    if chain:
        message["References"] = " ".join(chain)
    text = body if body.endswith("\n") else body + "\n"
    message.set_content(text, subtype="plain", charset="utf-8", cte=_transfer_encoding(text))
    return message


def compose_reply(
    *,
    reference: str,
    subject: str,
    body: str,
    mail_from: str,
    to: str,
    message_id_domain: str,
    reply_id: str,
    in_reply_to: str | None,
    references: Sequence[str],
    attachments: Sequence[tuple[str, str, bytes]] = (),
    sent_at: datetime | None = None,
) -> EmailMessage:
    """An agent's reply. ``attachments`` are (filename, content type, data)."""
    message = _message(
        subject=reply_subject(reference, subject),
        body=body,
        mail_from=mail_from,
        to=to,
        message_id=reply_message_id("reply", reply_id, message_id_domain),
        in_reply_to=in_reply_to,
        references=references,
        sent_at=sent_at,
    )
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        if not maintype or not subtype:
            maintype, subtype = "application", "octet-stream"
        # policy.default writes non-ASCII names as RFC 2231 filename*=utf-8''...
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def acknowledgement_text(reference: str, customer_name: str | None = None) -> str:
    name = (customer_name or "").strip()
    return (
        f"{name + '，' if name else ''}您好：\n"
        "\n"
        f"我们已收到您的服务请求，受理编号为 {reference}。\n"
        f"回复时请保留邮件主题中的 [{reference}]，您的回复将归入同一请求。\n"
        "本邮件由系统自动发送，客服人员会尽快与您联系。\n"
        "\n"
        f"Hello{' ' + name if name else ''},\n"
        "\n"
        f"We have received your service request. Its reference number is {reference}.\n"
        f"Please keep [{reference}] in the subject when you reply, so that your message joins\n"
        "the same request. This message was sent automatically; an agent will contact you soon.\n"
    )


def compose_acknowledgement(
    *,
    reference: str,
    subject: str,
    mail_from: str,
    to: str,
    message_id_domain: str,
    acknowledgement_id: str,
    in_reply_to: str | None,
    references: Sequence[str] = (),
    customer_name: str | None = None,
    sent_at: datetime | None = None,
) -> EmailMessage:
    """The automatic "we have your request, its number is SR-…" answer to a new request."""
    message = _message(
        subject=reply_subject(reference, subject),
        body=acknowledgement_text(reference, customer_name),
        mail_from=mail_from,
        to=to,
        message_id=reply_message_id("ack", acknowledgement_id, message_id_domain),
        in_reply_to=in_reply_to,
        references=references,
        sent_at=sent_at,
    )
    # RFC 3834: marks the mail as automatic, so vacation responders and other desks stay quiet
    # and no mail loop starts; the Microsoft header does the same for Exchange.
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    return message
