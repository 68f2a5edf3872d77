"""Decoding what mail clients write: charsets, header text, addresses and Message-IDs.

Real Chinese mail breaks the rules (GBK labelled gb2312, raw 8-bit headers, characters split
across encoded words), so the decoding is done here instead of by the library.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from email.message import Message
from email.utils import getaddresses

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


