"""Languages of the web pages: Babel message catalogues and locale-aware times.

The catalogues are `locale/<lang>/LC_MESSAGES/messages.po`, extracted from the
templates and page modules by `make i18n` (pybabel, babel.cfg) and compiled
to `.mo` beside them; a test holds the compiled files to their sources.  The
language is the one the user chose (`?lang=`, kept on their account), else the
browser's `Accept-Language`, else Simplified Chinese, the desk's home language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_datetime
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
# What `?lang=` accepts and `<html lang>` says, and the Babel locale of each.
LANGUAGES = {"zh-CN": "zh_CN", "en": "en"}
DEFAULT_LANGUAGE = "zh-CN"
DEFAULT_TIMEZONE = "Asia/Shanghai"
# How a moment is written: 2026年11月23日 14:05 / 23 Nov 2026, 14:05.
MOMENT_PATTERNS = {"zh-CN": "yyyy年M月d日 HH:mm", "en": "d MMM yyyy, HH:mm"}


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of `language`.  English has one too: the words of
    the domain (`status:pending_customer`) are msgids that read as words only
    through a catalogue."""
    return Translations.load(str(LOCALE_DIR), [LANGUAGES[language]], domain="messages")


def negotiate(chosen: str | None, accept_language: str) -> str:
    """The language to show: the user's choice, else the browser's first
    acceptable one, else the default."""
    if chosen in LANGUAGES:
        return chosen
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


@dataclass(frozen=True)
class Formatter:
    """Times and words for one reader: their language and time zone."""

    language: str
    timezone: str

    @property
    def locale(self) -> Locale:
        return Locale.parse(LANGUAGES[self.language])

    def gettext(self, message: str) -> str:
        return translations(self.language).gettext(message)

    def moment(self, value: str | datetime | None) -> str:
        """A stored UTC time (ISO text or datetime) in the reader's zone and words."""
        when = parse_moment(value)
        if when is None:
            return ""
        return format_datetime(when, MOMENT_PATTERNS[self.language],
                               tzinfo=zone(self.timezone), locale=self.locale)

    def iso(self, value: str | datetime | None) -> str:
        """The same moment as ISO text in the reader's zone, for <time datetime>."""
        when = parse_moment(value)
        return when.astimezone(zone(self.timezone)).isoformat(timespec="minutes") if when else ""


def parse_moment(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
