"""Outbound mail: threading headers, subjects, encodings; checked by parsing the bytes back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from channels.email.composing import (
    MAX_REFERENCES,
    compose_acknowledgement,
    compose_reply,
    reply_subject,
    thread_references,
)
from channels.email.parsing import find_reference, parse_email

SENT_AT = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)


def reply(**overrides: Any) -> EmailMessage:
    arguments: dict[str, Any] = {
        "reference": "SR-000123",
        "subject": "打印机故障",
        "body": "您好，工程师明天上午到。\nRegards,\nLedgerdesk",
        "mail_from": "Ledgerdesk 客服 <support@ledgerdesk.test>",
        "to": "王喆 <wang.zhe@example.cn>",
        "message_id_domain": "ledgerdesk.test",
        "reply_id": "8f14e45f-ceea-467f-a0e6-8c1d5a9e6f01",
        "in_reply_to": "<first@example.cn>",
        "references": [],
        "sent_at": SENT_AT,
    }
    arguments.update(overrides)
    return compose_reply(**arguments)


def wire(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=policy.SMTP)


def test_message_id_is_fixed_by_the_reply_id() -> None:
    first = reply()
    retried = reply(sent_at=SENT_AT + timedelta(minutes=5))
    other = reply(reply_id="another-reply")
    assert first["Message-ID"] == "<reply-8f14e45f-ceea-467f-a0e6-8c1d5a9e6f01@ledgerdesk.test>"
    assert retried["Message-ID"] == first["Message-ID"]
    assert other["Message-ID"] != first["Message-ID"]


@pytest.mark.parametrize("reply_id", ["has space", "a<b>", "x@y", ""])
def test_unsafe_reply_id_is_refused(reply_id: str) -> None:
    with pytest.raises(ValueError):
        reply(reply_id=reply_id)


def test_threading_headers() -> None:
    message = reply(
        in_reply_to=" <second@example.cn> ",
        references=["<first@example.cn>", "<reply-1@ledgerdesk.test>"],
    )
    assert message["In-Reply-To"] == "<second@example.cn>"
    assert message["References"].split() == [
        "<first@example.cn>",
        "<reply-1@ledgerdesk.test>",
        "<second@example.cn>",
    ]


def test_references_are_deduplicated_in_order() -> None:
    chain = thread_references(["<a@x>", "b@x", "<a@x>", "<c@x>"], "<b@x>")
    assert chain == ("<a@x>", "<b@x>", "<c@x>")


def test_references_keep_the_last_twenty() -> None:
    earlier = [f"<m{number}@example.cn>" for number in range(30)]
    chain = thread_references(earlier, "<answered@example.cn>")
    assert len(chain) == MAX_REFERENCES == 20
    assert chain[-1] == "<answered@example.cn>"
    assert chain[0] == "<m11@example.cn>"


def test_first_message_without_thread_has_no_threading_headers() -> None:
    message = reply(in_reply_to=None, references=[])
    assert message["In-Reply-To"] is None
    assert message["References"] is None


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("打印机故障", "Re: [SR-000123] 打印机故障"),
        ("Re: 打印机故障", "Re: [SR-000123] 打印机故障"),
        ("RE: Re: [SR-000123] 打印机故障", "Re: [SR-000123] 打印机故障"),
        ("回复：回复: [sr-000123] 打印机故障", "Re: [SR-000123] 打印机故障"),
        ("答复: Fwd: AW: 打印机故障 [SR-000123]", "Re: [SR-000123] 打印机故障"),
        ("Re[2]: printer", "Re: [SR-000123] printer"),
        ("", "Re: [SR-000123]"),
        ("Reference number inside", "Re: [SR-000123] Reference number inside"),
    ],
)
def test_reply_subject(subject: str, expected: str) -> None:
    assert reply_subject("SR-000123", subject) == expected


def test_subject_survives_encoding_with_one_token_and_one_re() -> None:
    parsed = parse_email(wire(reply(subject="Re: [SR-000123] 打印机故障")))
    assert parsed.subject == "Re: [SR-000123] 打印机故障"
    assert parsed.subject.count("[SR-000123]") == 1
    assert parsed.subject.lower().count("re:") == 1
    assert find_reference(parsed.subject) == "SR-000123"


def test_date_header() -> None:
    message = reply(sent_at=datetime(2024, 3, 4, 18, 0, tzinfo=timezone(timedelta(hours=8))))
    assert parsedate_to_datetime(message["Date"]) == datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
    assert reply(sent_at=None)["Date"] is not None


def test_body_is_utf8_and_safe_for_any_relay() -> None:
    message = reply()
    data = wire(message)
    assert data.isascii()  # no 8-bit bytes on the wire
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    parsed = parse_email(data)
    assert parsed.body == "您好，工程师明天上午到。\nRegards,\nLedgerdesk"
    assert parsed.sender_address == "support@ledgerdesk.test"
    assert parsed.sender_name == "Ledgerdesk 客服"
    assert parsed.to == ("wang.zhe@example.cn",)
    assert parsed.message_id == message["Message-ID"]
    assert parsed.in_reply_to == "<first@example.cn>"
    assert parsed.auto_reply_reason is None


@pytest.mark.parametrize("body", ["Plain ASCII text.", "Grüße aus Köln", "全中文内容" * 20])
def test_body_round_trips_in_every_script(body: str) -> None:
    parsed = parse_email(wire(reply(body=body)))
    assert parsed.body == body


def test_attachments_with_non_ascii_names() -> None:
    files: Sequence[tuple[str, str, bytes]] = [
        ("维修报告.pdf", "application/pdf", b"%PDF-1.4 report"),
        ("photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0"),
        ("说明.txt", "text/plain", "中文说明".encode()),
        ("odd", "not-a-type", b"raw"),
    ]
    message = reply(attachments=files)
    data = wire(message)
    assert data.isascii()
    assert b"filename*=utf-8''%E7%BB%B4%E4%BF%AE%E6%8A%A5%E5%91%8A.pdf" in data
    parsed = parse_email(data)
    assert parsed.body.startswith("您好，工程师明天上午到。")
    got = [(a.filename, a.content_type, a.data, a.inline) for a in parsed.attachments]
    assert got == [
        ("维修报告.pdf", "application/pdf", b"%PDF-1.4 report", False),
        ("photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0", False),
        ("说明.txt", "text/plain", "中文说明".encode(), False),
        ("odd", "application/octet-stream", b"raw", False),
    ]


def acknowledgement(**overrides: Any) -> EmailMessage:
    arguments: dict[str, Any] = {
        "reference": "SR-000124",
        "subject": "设备无法开机",
        "mail_from": "support@ledgerdesk.test",
        "to": "wang.zhe@example.cn",
        "message_id_domain": "ledgerdesk.test",
        "acknowledgement_id": "ack-0001",
        "in_reply_to": "<new-request@example.cn>",
        "customer_name": "王喆",
        "sent_at": SENT_AT,
    }
    arguments.update(overrides)
    return compose_acknowledgement(**arguments)


def test_acknowledgement_carries_the_reference_in_both_languages() -> None:
    message = acknowledgement()
    parsed = parse_email(wire(message))
    assert parsed.subject == "Re: [SR-000124] 设备无法开机"
    assert "受理编号为 SR-000124" in parsed.body
    assert "reference number is SR-000124" in parsed.body
    assert "王喆，您好" in parsed.body and "Hello 王喆" in parsed.body
    assert parsed.in_reply_to == "<new-request@example.cn>"
    assert message["Message-ID"] == "<ack-ack-0001@ledgerdesk.test>"
    assert acknowledgement()["Message-ID"] == message["Message-ID"]


def test_acknowledgement_is_marked_automatic() -> None:
    message = acknowledgement(customer_name=None)
    assert message["Auto-Submitted"] == "auto-replied"
    # Our own parser (and any other desk) must see it as automatic, so no loop can start.
    assert parse_email(wire(message)).auto_reply_reason is not None
    assert "您好：" in message.get_content()
