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
