"""What text may be stored: the rule every command and every channel shares.

A C0 control character (other than tab, newline and carriage return), DEL or a
lone surrogate in a stored value breaks a later read: PostgreSQL refuses NUL in
text columns, JSON encoders refuse lone surrogates, terminals and CSV readers
misbehave on the rest.  So commands refuse such text (a person typed it, they
can fix it) and channels clean it from what the outside world sends (nobody
can fix a mail already sent; its raw bytes stay in the blob store).

`check_command` walks a command's fields, nested dataclasses, lists and dicts
included, and also refuses NaN and the infinities, which JSON cannot carry.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

from domain.errors import invalid

# Tab, newline and carriage return are text; the rest of C0 and DEL are not.
# Lone surrogates (U+D800-U+DFFF) cannot be encoded in UTF-8 at all.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# A form feed separates pages (OCR, faxes) and a vertical tab lines: keep the break.
_BREAKS = str.maketrans({"\x0c": "\n", "\x0b": "\n"})
MAX_DEPTH = 32


def unsafe_character(value: str) -> str | None:
    """The first character `value` may not hold, or None."""
    found = _UNSAFE.search(value)
    return found.group() if found else None


def clean(value: str) -> str:
    """`value` made storable: page and line breaks kept as newlines, the rest dropped."""
    return _UNSAFE.sub("", value.translate(_BREAKS))


def check_value(field: str, value: Any, depth: int = 0) -> None:
    """Refuse (InvalidInput naming `field`) what cannot be stored safely."""
    if depth > MAX_DEPTH:
        raise invalid(field, f"{field} is nested too deeply")
    if isinstance(value, str):
        bad = unsafe_character(value)
        if bad is not None:
            raise invalid(field, f"{field} contains a control character (U+{ord(bad):04X})")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise invalid(field, f"{field} must be a finite number")
    elif isinstance(value, Mapping):
        if "_type_" in value:
            # The event store's JSON transcoder reads {"_type_", "_data_"} as a value
            # it encoded itself: stored as data, it would break the aggregate's replay.
            raise invalid(field, f"{field} may not use the key _type_")
        for key, item in value.items():
            check_value(field, key, depth + 1)
            check_value(field, item, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            check_value(field, item, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        check_command(value, depth + 1)


def check_command(command: object, depth: int = 0) -> None:
    """Every field of a command (a dataclass), recursively.  Secrets are
    checked too: a password with NUL in it would never match again."""
    for f in dataclasses.fields(command):  # type: ignore[arg-type]
        check_value(f.name, getattr(command, f.name), depth)
