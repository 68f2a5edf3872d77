"""Trimming the quoted history under a reply, in the styles of Chinese and Western clients."""

from __future__ import annotations

import re

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


