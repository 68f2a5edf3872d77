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


