"""Walking the MIME tree: the body text to show and the attachments to keep."""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Literal

import html2text

from channels.email.mail_text import (
    _FOLD,
    _decode_raw_header,
    _raw_header,
    _to_bytes,
    decode_bytes,
    decode_header_text,
)


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool
    # Without the angle brackets, as HTML refers to it: <img src="cid:...">.
    content_id: str | None


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


_OFFICE = "application/vnd.openxmlformats-officedocument"
# Types mail carries all the time that Python's own table lacks or knows by another name
# (bounces, forwards, Office files, Outlook's winmail.dat, old browsers' aliases).
_EXTENSIONS = {
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "text/rfc822-headers": ".txt",
    f"{_OFFICE}.wordprocessingml.document": ".docx",
    f"{_OFFICE}.spreadsheetml.sheet": ".xlsx",
    f"{_OFFICE}.presentationml.presentation": ".pptx",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/x-png": ".png",
    "image/webp": ".webp",
    "application/x-pdf": ".pdf",
    "application/x-zip-compressed": ".zip",
    "application/x-rar-compressed": ".rar",
    "application/vnd.rar": ".rar",
    "application/x-7z-compressed": ".7z",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "text/x-log": ".log",
    "text/calendar": ".ics",
    "audio/amr": ".amr",
}
_TYPE_OF_EXTENSION = {
    ".docx": f"{_OFFICE}.wordprocessingml.document",
    ".xlsx": f"{_OFFICE}.spreadsheetml.sheet",
    ".pptx": f"{_OFFICE}.presentationml.presentation",
    ".webp": "image/webp",
    ".rar": "application/vnd.rar",
    ".7z": "application/x-7z-compressed",
    ".log": "text/plain",
    ".ics": "text/calendar",
    ".amr": "audio/amr",
}
# Python's own table only: the module-level functions also read the host's
# /etc/mime.types, and an attachment's name or type must not depend on the machine.
_STANDARD_TYPES = mimetypes.MimeTypes()


def _extension_for(content_type: str) -> str:
    return _EXTENSIONS.get(content_type) or _STANDARD_TYPES.guess_extension(content_type) or ".bin"


def _declared_type(part: Message, filename: str | None) -> str:
    """The part's type; from its file name when the sender gave no usable one (no header, an
    invalid one that the library reads as text/plain, or the catch-all octet-stream)."""
    content_type = part.get_content_type()
    raw = _raw_header(part, "content-type")
    declared = _FOLD.sub("", raw).split(";")[0].strip().lower() if raw else ""
    if filename is None or (declared == content_type != "application/octet-stream"):
        return content_type
    extension = "." + filename.rpartition(".")[2].lower() if "." in filename else ""
    guessed = _TYPE_OF_EXTENSION.get(extension) or _STANDARD_TYPES.guess_type(
        f"x{extension}", strict=False)[0]
    return guessed or content_type


def _attachment(
    part: Message, data: bytes, *, inline: bool, index: int, charset_hint: str | None
) -> ParsedAttachment:
    filename = _filename(part, charset_hint)
    content_type = _declared_type(part, filename)
    if filename is None:
        filename = f"{'inline' if inline else 'attachment'}-{index}{_extension_for(content_type)}"
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


# A delimiter line: "--" and a boundary as RFC 2046 allows it (1 to 70 of its characters,
# the last not a space), then optional padding. A "-- " signature separator is not one.
_DELIMITER_LINE = re.compile(
    rb"^--([0-9A-Za-z'()+_,./:=?-][0-9A-Za-z'()+_,./:=? -]{0,68}?(?<! ))(--)?[ \t]*\r?$",
    re.MULTILINE,
)
_PART_START = re.compile(rb"\r?\n(?:\r?\n|[!-9;-~]+[ \t]*:)")


def _found_boundary(data: bytes) -> str | None:
    """The boundary the body really uses: a delimiter line that comes back (another part or
    the closing line) and is followed by a part's headers. A line that merely starts with
    "--" in the text (a signature, a rule) is neither, and picking it would lose the text."""
    seen: dict[bytes, int] = {}
    headed: set[bytes] = set()
    for match in _DELIMITER_LINE.finditer(data):
        boundary = match.group(1)
        seen[boundary] = seen.get(boundary, 0) + 1
        if match.group(2) is None and _PART_START.match(data, match.end()):
            headed.add(boundary)
    for boundary, count in seen.items():
        if count >= 2 and boundary in headed:
            return boundary.decode("ascii")
    return None


def _reparse_with_found_boundary(part: Message) -> Message | None:
    """A multipart whose declared boundary never appears, re-read with the one that does."""
    data = _payload_bytes(part)
    boundary = _found_boundary(data)
    if boundary is None or '"' in boundary:
        return None
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


