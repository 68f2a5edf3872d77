"""Phone and fax numbers in one spelling (E.164), so `010-66550101`,
`+86 10 6655 0101` and `+861066550101` are one identity wherever a number
enters: registering a customer, linking an identity, a logged call, a fax.

Numbers without a country code are read in the default region (CN: Ledgerdesk's
customers dial mainland numbers with the trunk `0`).  Stores written before
this module kept the digits as typed ("01066550101"); `earlier_spellings`
gives those forms so the identity index still finds them (domain.ids).
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

DEFAULT_REGION = "CN"



def _number_pattern() -> str:
    """What the JSON API takes as a number (its OpenAPI document states it): a
    "+" and a country calling code, or a national number starting with the trunk
    "0" and an area code, a mobile or service number (1…, 2–9…); separators
    " ().-".  Everything it matches the phonenumbers library reads, so a number
    the document allows is never refused.  (Excluded: "00…" and "1[12]…00…",
    "179…", which phonenumbers reads as international dialling prefixes.)"""
    codes = sorted((str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE if c),
                   key=lambda code: (-len(code), code))
    sep = "[ ().-]{0,2}"
    international = rf"\+({'|'.join(codes)}){sep}[0-9]({sep}[0-9]){{1,13}}"
    national = rf"\(?(0{sep}[1-9]|1{sep}[03-689]|[2-9])({sep}[0-9]){{2,13}}"
    return f"^ *({international}|{national}) *$"


# Explicit character classes only: the same in Python, JavaScript and JSON Schema.
PHONE_PATTERN = _number_pattern()
_PHONE_SHAPE = re.compile(PHONE_PATTERN)


def looks_like_number(text: str) -> bool:
    return _PHONE_SHAPE.fullmatch(text) is not None


class UnparsableNumber(ValueError):
    """Not a phone number, in any spelling `phonenumbers` reads."""


def _parse(number: str, region: str) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(number.strip(), region)
    except NumberParseException as e:
        raise UnparsableNumber(f"{number!r} is not a phone number") from e


def normalise_number(number: str, region: str = DEFAULT_REGION) -> str:
    """The E.164 spelling (`+861066550101`); UnparsableNumber when there is none."""
    return phonenumbers.format_number(_parse(number, region), PhoneNumberFormat.E164)


def digits_as_typed(number: str) -> str:
    """How numbers were kept before E.164: the digits, with a leading "+" kept."""
    digits = re.sub(r"[^\d]", "", number.strip())
    return ("+" + digits) if number.strip().startswith("+") else digits


def earlier_spellings(number: str, region: str = DEFAULT_REGION) -> list[str]:
    """Every spelling an older store may have derived an identity id from: E.164
    first, then the national digits with the trunk prefix (`01066550101`), the
    international digits without "+" (how Telegram sends them), and the digits
    as they were typed this time."""
    spellings: list[str] = []
    try:
        parsed = _parse(number, region)
    except UnparsableNumber:
        parsed = None
    if parsed is not None:
        spellings.append(phonenumbers.format_number(parsed, PhoneNumberFormat.E164))
        if parsed.country_code == phonenumbers.country_code_for_region(region):
            # Only a domestic number was typed without its country code: London's
            # "020 7946 0958" is not Guangzhou's.
            spellings.append(digits_as_typed(
                phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)))
        spellings.append(f"{parsed.country_code}{parsed.national_number}")
    spellings.append(digits_as_typed(number))
    return [s for s in dict.fromkeys(spellings) if s and s != "+"]


def same_number(a: str, b: str, region: str = DEFAULT_REGION) -> bool:
    try:
        return normalise_number(a, region) == normalise_number(b, region)
    except UnparsableNumber:
        return digits_as_typed(a) == digits_as_typed(b)


def for_display(number: str, region: str = DEFAULT_REGION) -> str:
    """A stored number as people read it (`+86 10 6655 0101`); as stored when unreadable."""
    try:
        return phonenumbers.format_number(_parse(number, region),
                                          PhoneNumberFormat.INTERNATIONAL)
    except UnparsableNumber:
        return number
