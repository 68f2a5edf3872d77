"""Phone and fax numbers in E.164 (domain.phones), and the older spellings the
identity index still looks up."""

from __future__ import annotations

import re

import pytest

from domain import phones


@pytest.mark.parametrize("typed", ["010-66550101", "+86 10 6655 0101", "+861066550101",
                                   "(010) 6655-0101", " 010 6655 0101 ", "861066550101"])
def test_one_number_in_every_spelling(typed: str) -> None:
    assert phones.normalise_number(typed) == "+861066550101"


def test_unreadable_numbers_are_refused() -> None:
    for typed in ("call me", "1", "+999 123", "+"):
        with pytest.raises(phones.UnparsableNumber):
            phones.normalise_number(typed)


def test_earlier_spellings_only_read_domestic_numbers_as_domestic() -> None:
    assert phones.earlier_spellings("+86 10 6655 0101") == [
        "+861066550101", "01066550101", "861066550101"]
    london = phones.earlier_spellings("+44 20 7946 0958")
    assert "02079460958" not in london  # that would be Guangzhou's 020 7946 0958
    assert london[0] == "+442079460958"


def test_what_the_api_takes_phonenumbers_reads() -> None:
    assert re.fullmatch(phones.PHONE_PATTERN, "+86 10 6655 0101")
    assert re.fullmatch(phones.PHONE_PATTERN, "(010) 6655-0199")
    assert re.fullmatch(phones.PHONE_PATTERN, "138 0000 0001")
    for refused in ("call me", "00 86 10 6655 0101", "+999 1234", "12345-0012"):
        assert not phones.looks_like_number(refused), refused


def test_numbers_are_shown_grouped() -> None:
    assert phones.for_display("+861066550101") == "+86 10 6655 0101"
    assert phones.for_display("not a number") == "not a number"
