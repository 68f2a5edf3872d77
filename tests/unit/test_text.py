"""The storable-text rule every command obeys (domain.text)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from domain import ids
from domain.errors import InvalidInput
from domain.text import check_command, clean


@dataclass(frozen=True)
class Sample:
    subject: str = "ok"
    details: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


@pytest.mark.parametrize("command,field_name", [
    (Sample(subject="a\x00b"), "subject"),
    (Sample(subject="bell\x07"), "subject"),
    (Sample(subject="\ud800"), "subject"),
    (Sample(details={"x": float("nan")}), "details"),
    (Sample(details={"x": {"y": float("inf")}}), "details"),
    (Sample(details={"_type_": "datetime_iso", "_data_": "x"}), "details"),
    (Sample(tags=("ok", "del\x7f")), "tags"),
])
def test_unstorable_values_are_refused_naming_the_field(command: Sample, field_name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_command(command)
    assert list(refused.value.fields) == [field_name]


def test_text_people_write_is_accepted() -> None:
    check_command(Sample(subject="打印机卡纸\t第 2 页\r\n谢谢", details={"n": 1.5}))


def test_channels_clean_what_arrives_keeping_page_breaks() -> None:
    assert clean("第一页\x0c第二页\x00\x1b[31m") == "第一页\n第二页[31m"


def test_references_are_ascii_digits_without_a_trailing_newline() -> None:
    assert ids.REFERENCE_PATTERN.match("SR-000123")
    assert not ids.REFERENCE_PATTERN.match("SR-000123\n")
    assert not ids.REFERENCE_PATTERN.match("SR-١٢٣٤٥٦")
