"""Turn the raw bytes of one inbound email into the facts the service desk needs.

Pure functions, no I/O. The standard ``email`` package (``policy.default``) splits the MIME tree;
header text, charsets and filenames are decoded here, because real-world Chinese mail breaks the
rules in ways the library decodes into replacement characters: GBK text labelled ``gb2312``,
unencoded 8-bit headers, multi-byte characters split across two encoded words.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Literal

import html2text


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool
    # Without the angle brackets, as HTML refers to it: <img src="cid:...">.
    content_id: str | None


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


# --- charsets -------------------------------------------------------------------------------

# Labels decoded with a superset codec: mail labelled gb2312 routinely carries GBK-only
# characters (names such as 喆 or 镕), Big5 mail carries HKSCS characters, Shift_JIS mail
# carries Microsoft extensions. A second codec is tried when the first one fails.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("gb2312", "gb_2312", "gb_2312-80", "euc-cn", "x-euc-cn", "csgb2312", "chinese"),
        ("gb18030",),
    ),
    **dict.fromkeys(("gbk", "x-gbk", "cp936", "windows-936"), ("gb18030",)),
    **dict.fromkeys(("big5", "x-big5", "big-5", "cn-big5", "csbig5"), ("big5hkscs", "cp950")),
    # Half-width katakana arrive in ISO-2022-JP mail although the standard forbids them.
    **dict.fromkeys(("iso-2022-jp", "csiso2022jp"), ("iso2022_jp_2", "iso2022_jp_ext")),
    **dict.fromkeys(("shift_jis", "shift-jis", "x-sjis", "sjis"), ("cp932",)),
    **dict.fromkeys(("ks_c_5601-1987", "euc-kr"), ("cp949",)),
    # Browsers read iso-8859-1 as windows-1252 too; mailers write 1252 quotes under that label.
    **dict.fromkeys(("iso-8859-1", "latin1", "latin-1"), ("cp1252", "latin-1")),
}

# A label that says "no 8-bit text here" is wrong whenever 8-bit bytes show up, so it is
# treated as no label at all.
_ASCII_LABELS = {"us-ascii", "ascii", "ansi_x3.4-1968", "7bit", "8bit", "unknown-8bit", "x-unknown"}


def _codecs_for(label: str | None) -> tuple[str, ...]:
    if not label:
        return ()
    name = label.strip().strip("\"'").lower()
    if not name or name in _ASCII_LABELS:
        return ()
    found: list[str] = []
    for candidate in _SUPERSETS.get(name, (name,)):
        try:
            found.append(codecs.lookup(candidate).name)
        except LookupError:
            continue
    return tuple(found)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode text whatever its label says; never raises.

    A declared charset is trusted when the bytes decode under it. Otherwise UTF-8 is tried
    (the most common mislabel), then for unlabelled text GB18030 (this desk's customers write
    Chinese), and finally a replacement decode so nothing crashes.
    """
    if not data:
        return ""
    candidates = _codecs_for(charset)
    for codec in candidates:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if candidates:
        return data.decode(candidates[0], "replace")
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


# --- header text ------------------------------------------------------------------------------

_ENCODED_WORD = re.compile(
    r"=\?(?P<charset>[^?*\s]+)(?:\*[^?\s]*)?\?(?P<encoding>[bBqQ])\?(?P<text>[^?\s]*)\?="
)
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SURROGATES = re.compile("[\udc80-\udcff]")


def _has_raw_8bit(text: str) -> bool:
    # The parser keeps undecodable header bytes as lone surrogates (surrogateescape).
    return _SURROGATES.search(text) is not None


def _to_bytes(text: str) -> bytes:
    try:
        return text.encode("latin-1", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def _encoded_word_bytes(encoding: str, text: str) -> bytes:
    if encoding in "bB":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            return base64.b64decode(cleaned)
        except (binascii.Error, ValueError):
            return text.encode("ascii", "replace")
    data = text.replace("_", " ").encode("ascii", "replace")
    return binascii.a2b_qp(data, header=True)


def _decode_raw_header(text: str, charset_hint: str | None) -> str:
    """Header text that arrived as unencoded 8-bit bytes.

    UTF-8 first (RFC 6532 allows it, and GBK text is almost never valid UTF-8), then the
    charset the body declares, which is what older Chinese mailers use for headers too.
    """
    if not _has_raw_8bit(text):
        return text
    data = _to_bytes(text)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return decode_bytes(data, charset_hint)


def decode_header_text(value: str, charset_hint: str | None = None) -> str:
    """Unfold a raw header value and decode RFC 2047 words and unencoded 8-bit bytes."""
    value = _decode_raw_header(_FOLD.sub("", value), charset_hint)
    pieces: list[str] = []
    # Adjacent encoded words in one charset are joined as bytes before decoding: mailers cut
    # words at a byte count, often in the middle of a two-byte Chinese character.
    pending: bytearray = bytearray()
    pending_charset: str | None = None
    position = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            pieces.append(decode_bytes(bytes(pending), pending_charset))
        pending = bytearray()
        pending_charset = None

    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        # Whitespace between two encoded words is folding, not text (RFC 2047 section 6.2).
        if between and not (between.isspace() and pending):
            flush()
            pieces.append(between)
        word_charset = match.group("charset").lower()
        if pending and word_charset != pending_charset:
            flush()
        pending_charset = word_charset
        pending.extend(_encoded_word_bytes(match.group("encoding"), match.group("text")))
        position = match.end()
    flush()
    pieces.append(value[position:])
    return "".join(pieces).replace("\r", "").replace("\n", " ").strip()


def _raw_header(message: Message, name: str) -> str | None:
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            return str(value)
    return None


def _raw_headers(message: Message, name: str) -> list[str]:
    wanted = name.lower()
    return [str(value) for key, value in message.raw_items() if key.lower() == wanted]


def _addresses(raw: str | None, charset_hint: str | None) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs; unparseable entries are skipped."""
    if raw is None:
        return []
    text = _decode_raw_header(_FOLD.sub("", raw), charset_hint)
    pairs: list[tuple[str, str]] = []
    for name, address in getaddresses([text]):
        address = address.strip().lower()
        if not address:
            continue
        pairs.append((decode_header_text(name, charset_hint), address))
    return pairs


# --- message ids --------------------------------------------------------------------------

_ANGLE_ID = re.compile(r"<([^<>]+)>")


def normalise_message_id(value: str | None) -> str | None:
    """The ``<id>`` form of a Message-ID, whitespace removed; None when there is none."""
    if value is None:
        return None
    match = _ANGLE_ID.search(value)
    inner = match.group(1) if match else value
    inner = re.sub(r"\s+", "", inner).strip("<>")
    return f"<{inner}>" if inner else None


def _id_list(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    tokens = _ANGLE_ID.findall(value)
    if not tokens:
        # Some mailers drop the brackets; then ids are separated by spaces or commas.
        tokens = [token for token in re.split(r"[\s,]+", value) if token]
    ids: list[str] = []
    for token in tokens:
        normalised = normalise_message_id(f"<{token}>")
        if normalised is not None and normalised not in ids:
            ids.append(normalised)
    return tuple(ids)


# --- body and attachments -----------------------------------------------------------------

TextMode = Literal["body", "drop", "attach"]


@dataclass
class _Collected:
    texts: list[str]
    attachments: list[ParsedAttachment]


def _charset_of(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:  # a broken Content-Type must not lose the text
        return None


def _payload_bytes(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # bad transfer encoding: keep whatever is stored
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return _to_bytes(raw) if isinstance(raw, str) else b""


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _filename(part: Message, charset_hint: str | None) -> str | None:
    # Parameters are re-read with the legacy API, which hands back RFC 2231 values still
    # encoded, so mislabelled charsets go through decode_bytes like everything else.
    for header, parameter in (("content-disposition", "filename"), ("content-type", "name")):
        raw = _raw_header(part, header)
        if raw is None:
            continue
        # Chinese mailers often write the filename unencoded in the local charset.
        text = _decode_raw_header(_FOLD.sub("", raw), charset_hint)
        legacy = Message()
        legacy[header] = text
        value = legacy.get_param(parameter, header=header)
        if isinstance(value, tuple):
            charset, _language, text = value
            name = decode_bytes(_to_bytes(str(text)), charset or charset_hint)
        elif isinstance(value, str):
            name = decode_header_text(value.strip('"'), charset_hint)
        else:
            continue
        # Only the last path component: a filename must never point elsewhere on disk.
        name = re.split(r"[\\/]", re.sub(r"[\x00-\x1f\x7f]", "", name))[-1].strip()
        if name and name not in {".", ".."}:
            return name
    return None


def _content_id(part: Message) -> str | None:
    raw = _raw_header(part, "content-id")
    if raw is None:
        return None
    value = re.sub(r"\s+", "", raw).strip("<>")
    return value or None


def _html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0  # the timeline wraps; hard breaks would split Chinese sentences
    converter.images_to_alt = True
    converter.unicode_snob = True
    converter.ignore_emphasis = True  # "**bold**" markers are noise in a timeline
    lines = [line.rstrip() for line in converter.handle(html).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _text_of(part: Message) -> str:
    text = decode_bytes(_payload_bytes(part), _charset_of(part))
    if part.get_content_subtype() == "html":
        return _html_to_text(text)
    return text


# Types the mimetypes table lacks but mail carries all the time (bounces, forwards).
_EXTENSIONS = {
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "text/rfc822-headers": ".txt",
}


def _attachment(
    part: Message, data: bytes, *, inline: bool, index: int, charset_hint: str | None
) -> ParsedAttachment:
    content_type = part.get_content_type()
    filename = _filename(part, charset_hint)
    if filename is None:
        extension = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type)
        filename = f"{'inline' if inline else 'attachment'}-{index}{extension or '.bin'}"
    return ParsedAttachment(
        filename=filename,
        content_type=content_type,
        data=data,
        inline=inline,
        content_id=_content_id(part),
    )


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [child for child in payload if isinstance(child, Message)]
    return []


def _message_part_bytes(part: Message) -> bytes:
    """The body of a message/* part (an attached email, a delivery-status report)."""
    pieces: list[bytes] = []
    for child in _children(part):
        try:
            pieces.append(child.as_bytes())
        except Exception:
            pieces.append(str(child).encode("utf-8", "replace"))
    return b"".join(pieces) if pieces else _payload_bytes(part)


_BOUNDARY_LINE = re.compile(rb"^--([^\r\n]+?)[ \t]*\r?$", re.MULTILINE)


def _reparse_with_found_boundary(part: Message) -> Message | None:
    """A multipart whose declared boundary never appears, re-read with the one that does."""
    data = _payload_bytes(part)
    match = _BOUNDARY_LINE.search(data)
    if match is None:
        return None
    boundary = match.group(1).decode("ascii", "replace").replace('"', "")
    header = f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\r\n\r\n'
    repaired = BytesParser(policy=policy.default).parsebytes(header.encode() + data)
    return repaired if repaired.is_multipart() else None


def _choose_alternative(children: list[Message]) -> Message | None:
    def is_text(child: Message, subtype: str) -> bool:
        return (
            not child.is_multipart()
            and child.get_content_type() == f"text/{subtype}"
            and _disposition(child) != "attachment"
        )

    for wanted in (
        lambda child: is_text(child, "plain") and bool(_text_of(child).strip()),
        lambda child: child.is_multipart(),
        lambda child: is_text(child, "html"),
        lambda child: is_text(child, "plain"),
    ):
        for child in children:
            if wanted(child):
                return child
    return children[0] if children else None


def _collect(
    part: Message,
    found: _Collected,
    *,
    mode: TextMode,
    in_related: bool,
    charset_hint: str | None,
    repaired: bool = False,
) -> None:
    content_type = part.get_content_type()
    maintype = part.get_content_maintype()
    subtype = part.get_content_subtype()

    if content_type in {"message/rfc822", "message/global", "message/delivery-status"} or (
        maintype == "message" and part.is_multipart()
    ):
        found.attachments.append(
            _attachment(
                part,
                _message_part_bytes(part),
                inline=False,
                index=len(found.attachments) + 1,
                charset_hint=charset_hint,
            )
        )
        return

    if maintype == "multipart":
        children = _children(part)
        if not children:
            fixed = None if repaired else _reparse_with_found_boundary(part)
            if fixed is not None:
                _collect(
                    fixed,
                    found,
                    mode=mode,
                    in_related=in_related,
                    charset_hint=charset_hint,
                    repaired=True,
                )
                return
            # Unrecoverable structure: show the raw text rather than lose it.
            if mode == "body":
                text = decode_bytes(_payload_bytes(part), charset_hint).strip()
                if text:
                    found.texts.append(text)
            return
        if subtype == "alternative":
            chosen = _choose_alternative(children)
            for child in children:
                child_mode: TextMode = mode if child is chosen else "drop"
                _collect(
                    child, found, mode=child_mode, in_related=in_related, charset_hint=charset_hint
                )
            return
        if subtype == "related":
            root = _related_root(part, children)
            for child in children:
                if child is root:
                    _collect(child, found, mode=mode, in_related=False, charset_hint=charset_hint)
                else:
                    _collect(
                        child, found, mode="attach", in_related=True, charset_hint=charset_hint
                    )
            return
        if subtype == "report":
            # The human-readable explanation first; machine parts and the returned mail after.
            for position, child in enumerate(children):
                child_mode = mode if position == 0 else "attach"
                _collect(
                    child, found, mode=child_mode, in_related=in_related, charset_hint=charset_hint
                )
            return
        for child in children:
            _collect(child, found, mode=mode, in_related=in_related, charset_hint=charset_hint)
        return

    disposition = _disposition(part)
    is_text = content_type in {"text/plain", "text/html"}
    named = _filename(part, charset_hint) is not None
    if is_text and disposition != "attachment" and not named and mode != "attach":
        if mode == "body":
            text = _text_of(part).strip("\r\n")
            if text.strip():
                found.texts.append(text)
        return

    has_cid = _content_id(part) is not None
    inline = (disposition == "inline" and has_cid) or (in_related and maintype == "image")
    if maintype == "image" and disposition is None and has_cid:
        inline = True
    found.attachments.append(
        _attachment(
            part,
            _payload_bytes(part),
            inline=inline,
            index=len(found.attachments) + 1,
            charset_hint=charset_hint,
        )
    )


def _related_root(part: Message, children: list[Message]) -> Message:
    start = part.get_param("start")
    if isinstance(start, str):
        wanted = start.strip().strip("<>")
        for child in children:
            if _content_id(child) == wanted:
                return child
    return children[0]


# --- quote trimming -------------------------------------------------------------------------

_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(original message|原始邮件|原始郵件)\s*-{2,}\s*$", re.IGNORECASE
)
_ATTRIBUTION_END = re.compile(
    r"(wrote|writes|a écrit|schrieb|escribió|写道|寫道)\s*[:：]\s*$", re.IGNORECASE
)
_ATTRIBUTION_START = re.compile(r"^\s*(on\s|在|le\s|am\s|el\s|\S.*于\s*\d)", re.IGNORECASE)
_HEADER_FROM = re.compile(r"^\s*\**\s*(from|发件人|寄件者|發件人)\s*\**\s*[:：]", re.IGNORECASE)
_HEADER_OTHER = re.compile(
    r"^\s*\**\s*(sent|date|to|cc|subject|发送时间|时间|日期|收件人|抄送|主题|主旨|寄件日期|收件者|副本)"
    r"\s*\**\s*[:：]",
    re.IGNORECASE,
)
_RULE_LINE = re.compile(r"^[\s_\-=*]*$")


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_at(lines: list[str], index: int) -> int | None:
    """How many lines (1 or 2) an attribution such as "On ... wrote:" takes at ``index``."""
    line = lines[index]
    if _ATTRIBUTION_END.search(line) and _ATTRIBUTION_START.match(line):
        return 1
    # Mailers wrap long attributions: "On Mon, 1 Jan 2024 at 10:00, Wang <wang@...>\nwrote:".
    if (
        index + 1 < len(lines)
        and _ATTRIBUTION_START.match(line)
        and _ATTRIBUTION_END.search(lines[index + 1])
        and len(lines[index + 1].strip()) < 40
    ):
        return 2
    return None


def _is_header_block(lines: list[str], index: int) -> bool:
    if not _HEADER_FROM.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 7] if line.strip()]
    return sum(1 for line in following[:5] if _HEADER_OTHER.match(line)) >= 2


def _only_quotes_after(lines: list[str], index: int) -> bool:
    rest = [line for line in lines[index:] if line.strip()]
    return bool(rest) and all(_is_quoted(line) for line in rest)


def trim_quoted(text: str) -> str:
    """The new part of a reply: earlier messages quoted at the end are dropped.

    Quotes interleaved with answers stay, because there the answer needs its question.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for index in range(len(lines)):
        if _SEPARATOR.match(lines[index]) or _is_header_block(lines, index):
            cut = index
            break
        span = _attribution_at(lines, index)
        if span is not None and _only_quotes_after(lines, index + span):
            cut = index
            break
    kept = lines[:cut]

    def drop_trailing_blank() -> None:
        while kept and not kept[-1].strip():
            kept.pop()

    drop_trailing_blank()
    if kept and _is_quoted(kept[-1]):
        while kept and (_is_quoted(kept[-1]) or not kept[-1].strip()):
            kept.pop()
        drop_trailing_blank()
        if kept and _attribution_at(kept, len(kept) - 1) == 1:
            kept.pop()
        elif len(kept) >= 2 and _attribution_at(kept, len(kept) - 2) == 2:
            del kept[-2:]
    # Outlook draws a rule above its header block.
    while kept and _RULE_LINE.match(kept[-1]):
        kept.pop()
    trimmed = "\n".join(kept).strip()
    return trimmed if trimmed else text.strip()


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
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        value = _raw_header(message, header)
        if value is not None and value.strip():
            return f"{header}: {value.strip()}"
    return None


_DAEMON_SENDERS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}


def _is_bounce(message: Message, sender_address: str) -> bool:
    if message.get_content_type() == "multipart/report":
        report_type = message.get_param("report-type")
        if isinstance(report_type, str) and report_type.lower() == "delivery-status":
            return True
    if any(part.get_content_type() == "message/delivery-status" for part in _walk(message)):
        return True
    if sender_address.split("@")[0] in _DAEMON_SENDERS:
        return True
    return_path = _raw_header(message, "return-path")
    return return_path is not None and re.sub(r"[\s<>]", "", return_path) == ""


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
    _reject_unusable(raw)
    message = BytesParser(policy=policy.default).parsebytes(raw)
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
        auto_reply_reason=_auto_reply_reason(message),
        is_bounce=_is_bounce(message, sender_address),
    )
