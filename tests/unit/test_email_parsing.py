"""parse_email on real encodings: every message is built here byte by byte, as mailers send it."""

from __future__ import annotations

import base64
import hashlib
import quopri
from datetime import UTC, datetime

import pytest

from channels.email.parsing import (
    MalformedEmail,
    ParsedEmail,
    decode_bytes,
    decode_header_text,
    find_reference,
    normalise_message_id,
    parse_email,
    trim_quoted,
)
from domain.text import unsafe_character

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def encoded_word(text: str, charset: str, codec: str | None = None) -> str:
    return f"=?{charset}?B?{b64(text.encode(codec or charset))}?="


def mail(headers: list[str], body: bytes | str = b"", *, sender: bool = True) -> bytes:
    """A raw message with CRLF line ends; From/Message-ID are added unless given."""
    names = {line.split(":", 1)[0].lower() for line in headers}
    lines = list(headers)
    if sender and "from" not in names:
        lines.insert(0, "From: Customer <customer@example.cn>")
    if "message-id" not in names:
        lines.append("Message-ID: <test-message@example.cn>")
    head = "\r\n".join(lines).encode("utf-8")
    data = body.encode("utf-8") if isinstance(body, str) else body
    return head + b"\r\n\r\n" + data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def multipart(
    subtype: str, parts: list[bytes], boundary: str = "=_part_boundary", extra: str = ""
) -> tuple[str, bytes]:
    """(Content-Type header, body) of a multipart built from raw parts (headers + body)."""
    body = b"This is a multi-part message in MIME format.\r\n"
    for part in parts:
        body += f"--{boundary}\r\n".encode() + part + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return f'Content-Type: multipart/{subtype}; boundary="{boundary}"{extra}', body


def part(headers: list[str], body: bytes) -> bytes:
    return "\r\n".join(headers).encode() + b"\r\n\r\n" + body


# --- Chinese and other charsets ---------------------------------------------------------------


def test_gbk_text_labelled_gb2312_in_subject_name_and_body() -> None:
    # 喆 and 镕 are GBK-only: a strict gb2312 decoder turns them into replacement characters.
    subject = "关于朱镕基路门店打印机的报修"
    body = "您好，我是王喆，门店的打印机又卡纸了。"
    raw = mail(
        [
            f"From: {encoded_word('王喆', 'gb2312', 'gbk')} <Wang.Zhe@Example.CN>",
            "To: support@ledgerdesk.test",
            f"Subject: {encoded_word(subject, 'gb2312', 'gbk')}",
            "MIME-Version: 1.0",
            'Content-Type: text/plain; charset="gb2312"',
            "Content-Transfer-Encoding: base64",
        ],
        b64(body.encode("gbk")),
    )
    parsed = parse_email(raw)
    assert parsed.subject == subject
    assert parsed.sender_name == "王喆"
    assert parsed.sender_address == "wang.zhe@example.cn"
    assert parsed.body == body
    assert parsed.to == ("support@ledgerdesk.test",)


def test_gbk_body_in_8bit_and_quoted_printable() -> None:
    text = "设备型号：LD-2000，序列号 SN12345，故障：无法开机。"
    raw_8bit = mail(
        [
            "Subject: 8bit",
            "Content-Type: text/plain; charset=GBK",
            "Content-Transfer-Encoding: 8bit",
        ],
        text.encode("gbk"),
    )
    raw_qp = mail(
        [
            "Subject: qp",
            "Content-Type: text/plain; charset=gb18030",
            "Content-Transfer-Encoding: quoted-printable",
        ],
        quopri.encodestring(text.encode("gb18030")),
    )
    assert parse_email(raw_8bit).body == text
    assert parse_email(raw_qp).body == text


def test_encoded_words_split_inside_a_chinese_character_are_joined() -> None:
    data = "售后服务申请".encode("gbk")
    # Cut after 5 bytes: the third character's two bytes land in different encoded words.
    subject = f"=?GBK?B?{b64(data[:5])}?=\r\n =?GBK?B?{b64(data[5:])}?="
    parsed = parse_email(mail([f"Subject: {subject}"], "x"))
    assert parsed.subject == "售后服务申请"


def test_unencoded_8bit_gbk_header_uses_the_body_charset() -> None:
    raw = (
        b"From: " + "王喆".encode("gbk") + b" <wz@example.cn>\r\n"
        b"Subject: " + "打印机故障".encode("gbk") + b"\r\n"
        b"Message-ID: <raw8bit@example.cn>\r\n"
        b"Content-Type: text/plain; charset=gbk\r\n\r\n" + "正文".encode("gbk")
    )
    parsed = parse_email(raw)
    assert parsed.subject == "打印机故障"
    assert parsed.sender_name == "王喆"
    assert parsed.body == "正文"


def test_unencoded_utf8_header_wins_over_the_body_charset() -> None:
    raw = (
        "From: 王喆 <wz@example.cn>\r\nSubject: 打印机故障\r\n"
        "Content-Type: text/plain; charset=gbk\r\n\r\n"
    ).encode() + "正文".encode("gbk")
    parsed = parse_email(raw)
    assert (parsed.subject, parsed.sender_name, parsed.body) == ("打印机故障", "王喆", "正文")


def test_stray_nul_in_a_real_header_is_tolerated() -> None:
    parsed = parse_email(b"From: a@example.cn\r\nSubject: x\x00y\r\n\r\nbody")
    assert parsed.sender_address == "a@example.cn"
    assert parsed.body == "body"


def test_control_characters_and_lone_surrogates_are_cleaned_from_every_field() -> None:
    # What a command would refuse never leaves the parser; the raw bytes are kept elsewhere.
    header, body = multipart(
        "mixed",
        [
            part(["Content-Type: text/plain; charset=utf-8"], b"bo\x00dy\x01 \x1b[31mred\tok"),
            part(
                [
                    "Content-Type: application/pdf",
                    'Content-Disposition: attachment; filename="in\x00voice\x7f.pdf"',
                    "Content-ID: <img%FF@x>",
                ],
                b"%PDF",
            ),
        ],
    )
    raw = mail(
        [
            "From: Wang\x00 Fang\x07 <wang@example.cn>",
            "Subject: printer\x00 E5\x08",
            "To: support@ledgerdesk.test",
            "Message-ID: <m\x00@example.cn>",
            "In-Reply-To: <r\x00@example.cn>",
            header,
        ],
        body,
    ).replace(b"%FF", b"\xff")  # a raw 8-bit byte: the library keeps it as a lone surrogate
    parsed = parse_email(raw)
    assert parsed.subject == "printer E5"
    assert parsed.sender_name == "Wang Fang"
    assert parsed.body == "body [31mred\tok"
    assert parsed.message_id == parsed.dedupe_key == "<m@example.cn>"
    assert parsed.in_reply_to == "<r@example.cn>"
    (attachment,) = parsed.attachments
    assert attachment.filename == "invoice.pdf"
    assert attachment.content_id == "img@x"
    for value in (parsed.subject, parsed.sender_name, parsed.body, parsed.full_body):
        assert unsafe_character(value) is None


def test_mbox_envelope_line_is_not_part_of_the_message() -> None:
    raw = (
        b"From wang@example.cn Mon Jun  3 09:30:00 2024\r\n"
        b"From: Wang <wang@example.cn>\r\nSubject: x\x00y\r\n\r\n"
        b"first line\r\n>From the second line on it fails\r\n"
    )
    parsed = parse_email(raw)  # a NUL in the headers after an mbox line is not "binary"
    assert (parsed.sender_address, parsed.subject) == ("wang@example.cn", "xy")
    assert parsed.body == "first line\nFrom the second line on it fails"
    # mboxrd: one more ">" was added to a line that already read ">From "; only it goes.
    quoted = parse_email(b"From x Mon Jun  3 2024\nFrom: a@example.cn\n\n>>From here\n")
    assert quoted.full_body == ">From here"


def test_big5_with_hkscs_characters() -> None:
    # 啱 is in HKSCS, not in plain Big5.
    text = "你好，部機啱啱壞咗，請派人嚟維修。"
    raw = mail(
        [
            f"Subject: {encoded_word('維修申請', 'big5')}",
            "Content-Type: text/plain; charset=big5",
            "Content-Transfer-Encoding: base64",
        ],
        b64(text.encode("big5hkscs")),
    )
    parsed = parse_email(raw)
    assert parsed.subject == "維修申請"
    assert parsed.body == text


def test_iso_2022_jp() -> None:
    text = "お世話になっております。プリンターが故障しました。"
    raw = mail(
        [
            f"Subject: {encoded_word('修理の依頼', 'iso-2022-jp')}",
            "Content-Type: text/plain; charset=ISO-2022-JP",
            "Content-Transfer-Encoding: 7bit",
        ],
        text.encode("iso-2022-jp"),
    )
    parsed = parse_email(raw)
    assert parsed.subject == "修理の依頼"
    assert parsed.body == text


def test_utf8_and_iso_8859_bodies() -> None:
    utf8 = mail(["Content-Type: text/plain; charset=utf-8"], "Grüße, 你好 👋".encode())
    latin = mail(
        [
            "Subject: =?ISO-8859-15?Q?Pr=E9vision_=A4?=",
            "Content-Type: text/plain; charset=iso-8859-15",
        ],
        "Coût: 20 €".encode("iso-8859-15"),
    )
    assert parse_email(utf8).body == "Grüße, 你好 👋"
    parsed = parse_email(latin)
    assert parsed.subject == "Prévision €"
    assert parsed.body == "Coût: 20 €"


def test_unknown_and_wrong_charset_labels_do_not_crash() -> None:
    unknown = mail(
        [
            "Subject: =?x-made-up?B?" + b64("标题".encode()) + "?=",
            "Content-Type: text/plain; charset=x-made-up",
        ],
        "正文".encode(),
    )
    parsed = parse_email(unknown)
    assert parsed.subject == "标题"  # falls back to UTF-8, which fits
    assert parsed.body == "正文"

    mislabelled = mail(["Content-Type: text/plain; charset=us-ascii"], "好的".encode())
    assert parse_email(mislabelled).body == "好的"

    undecodable = mail(["Content-Type: text/plain; charset=utf-8"], b"ok \xff\xfe\xfa end")
    body = parse_email(undecodable).body
    assert body.startswith("ok ") and body.endswith(" end") and "\ufffd" in body


def test_decode_bytes_directly() -> None:
    assert decode_bytes("喆".encode("gbk"), "GB2312") == "喆"
    assert decode_bytes("啱".encode("big5hkscs"), "big5") == "啱"
    assert decode_bytes("ｶﾀｶﾅ".encode("iso2022_jp_ext"), "iso-2022-jp") == "ｶﾀｶﾅ"
    assert decode_bytes("“quoted”".encode("cp1252"), "iso-8859-1") == "“quoted”"
    assert decode_bytes("无标签".encode("gbk"), None) == "无标签"
    assert decode_bytes(b"", "utf-8") == ""


def test_decode_header_text_handles_q_words_and_folding() -> None:
    value = "=?utf-8?Q?Caf=C3=A9_au_lait?= and\r\n more =?utf-8?b?5aW9?="
    assert decode_header_text(value) == "Café au lait and more 好"


# --- structure: alternatives, HTML, attachments ---------------------------------------------


def test_alternative_prefers_plain_text() -> None:
    header, body = multipart(
        "alternative",
        [
            part(["Content-Type: text/plain; charset=utf-8"], "纯文本版本".encode()),
            part(["Content-Type: text/html; charset=utf-8"], "<p>HTML 版本</p>".encode()),
        ],
    )
    parsed = parse_email(mail([header], body))
    assert parsed.body == "纯文本版本"
    assert parsed.attachments == ()


def test_html_only_mail_becomes_readable_text() -> None:
    html = (
        "<html><head><style>p {color: red}</style></head><body>"
        "<p>您好，</p><p>设备 <b>LD-2000</b> 无法开机。</p>"
        "<ul><li>已重启</li><li>已换电源</li></ul>"
        '<p>详情见 <a href="https://example.cn/case">这里</a></p></body></html>'
    )
    raw = mail(
        ["Content-Type: text/html; charset=gbk", "Content-Transfer-Encoding: base64"],
        b64(html.encode("gbk")),
    )
    body = parse_email(raw).body
    assert "<p>" not in body and "color" not in body
    assert "您好" in body and "LD-2000" in body and "无法开机" in body
    assert "已重启" in body and "已换电源" in body
    assert "https://example.cn/case" in body


def test_alternative_with_related_html_keeps_inline_images() -> None:
    png = b"\x89PNG\r\n\x1a\nfake-image"
    related_header, related_body = multipart(
        "related",
        [
            part(
                ["Content-Type: text/html; charset=utf-8"],
                b'<p>See photo</p><img src="cid:photo1@example.cn">',
            ),
            part(
                [
                    "Content-Type: image/png",
                    "Content-Transfer-Encoding: base64",
                    "Content-ID: <photo1@example.cn>",
                ],
                b64(png).encode(),
            ),
        ],
        boundary="rel",
    )
    header, body = multipart(
        "alternative",
        [
            part(["Content-Type: text/plain"], b"See photo"),
            related_header.encode() + b"\r\n\r\n" + related_body,
        ],
        boundary="alt",
    )
    parsed = parse_email(mail([header], body))
    assert parsed.body == "See photo"
    (image,) = parsed.attachments
    assert image.inline is True
    assert image.content_id == "photo1@example.cn"
    assert image.content_type == "image/png"
    assert image.data == png
    assert image.filename.endswith(".png")


def test_inline_disposition_with_content_id_is_inline() -> None:
    header, body = multipart(
        "mixed",
        [
            part(["Content-Type: text/plain"], b"photo below"),
            part(
                [
                    'Content-Type: image/jpeg; name="scan.jpg"',
                    'Content-Disposition: inline; filename="scan.jpg"',
                    "Content-ID: <scan-1>",
                    "Content-Transfer-Encoding: base64",
                ],
                b64(b"\xff\xd8\xff jpeg").encode(),
            ),
            part(
                [
                    "Content-Type: application/pdf",
                    'Content-Disposition: attachment; filename="invoice.pdf"',
                    "Content-Transfer-Encoding: base64",
                ],
                b64(b"%PDF-1.4").encode(),
            ),
        ],
    )
    parsed = parse_email(mail([header], body))
    scan, invoice = parsed.attachments
    assert (scan.filename, scan.inline, scan.content_id) == ("scan.jpg", True, "scan-1")
    assert (invoice.filename, invoice.inline, invoice.content_id) == ("invoice.pdf", False, None)
    assert invoice.data == b"%PDF-1.4"


def test_attachment_filenames_in_every_encoding() -> None:
    def attachment(disposition: str) -> bytes:
        return part(
            [
                "Content-Type: application/octet-stream",
                disposition,
                "Content-Transfer-Encoding: base64",
            ],
            b64(b"data").encode(),
        )

    gbk_name = encoded_word("故障照片.jpg", "gbk")
    header, body = multipart(
        "mixed",
        [
            part(["Content-Type: text/plain"], b"four files"),
            attachment("Content-Disposition: attachment; filename*=utf-8''%E6%8A%A5%E4%BB%B7.pdf"),
            attachment(
                "Content-Disposition: attachment;\r\n filename*0*=utf-8''%E7%BB%B4%E4%BF%AE;\r\n"
                " filename*1*=%E5%8D%95.xlsx"
            ),
            attachment(f'Content-Disposition: attachment; filename="{gbk_name}"'),
            attachment("Content-Disposition: attachment; filename*=gb2312''%86%B4.txt"),
        ],
    )
    names = [attachment.filename for attachment in parse_email(mail([header], body)).attachments]
    assert names == ["报价.pdf", "维修单.xlsx", "故障照片.jpg", "喆.txt"]


def test_unencoded_8bit_filename_and_path_components_are_removed() -> None:
    header, body = multipart(
        "mixed",
        [
            part(["Content-Type: text/plain; charset=gbk"], "见附件".encode("gbk")),
            b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
            b'filename="..\\\\..\\\\' + "合同.doc".encode("gbk") + b'"\r\n\r\nxx',
        ],
    )
    (attachment,) = parse_email(mail([header], body)).attachments
    assert attachment.filename == "合同.doc"


def test_dot_dot_filename_is_replaced() -> None:
    header, body = multipart(
        "mixed",
        [
            part(["Content-Type: text/plain"], b"x"),
            part(
                ["Content-Type: application/pdf", 'Content-Disposition: attachment; filename=".."'],
                b"%PDF",
            ),
        ],
    )
    (attachment,) = parse_email(mail([header], body)).attachments
    assert attachment.filename == "attachment-1.pdf"


def test_unnamed_attachment_gets_a_name() -> None:
    header, body = multipart(
        "mixed",
        [
            part(["Content-Type: text/plain"], b"log attached"),
            part(["Content-Type: application/zip", "Content-Disposition: attachment"], b"PK"),
        ],
    )
    (attachment,) = parse_email(mail([header], body)).attachments
    assert attachment.filename == "attachment-1.zip"


@pytest.mark.parametrize(
    ("headers", "filename", "content_type"),
    [
        # Aliases old mailers write: a proper extension, the type as declared.
        (["Content-Type: image/pjpeg", "Content-Disposition: attachment"],
         "attachment-1.jpg", "image/pjpeg"),
        (["Content-Type: application/x-zip-compressed", "Content-Disposition: attachment"],
         "attachment-1.zip", "application/x-zip-compressed"),
        # Office files: the same name on every host, whatever its /etc/mime.types says.
        ([f"Content-Type: {XLSX}", "Content-Disposition: attachment"],
         "attachment-1.xlsx", XLSX),
        # No usable type: the file name says what it is.
        (["Content-Type: application/octet-stream; name=scan.pdf"], "scan.pdf",
         "application/pdf"),
        (["Content-Type: pdf; name=scan.pdf"], "scan.pdf", "application/pdf"),
        (["Content-Disposition: attachment; filename=photo.JPG"], "photo.JPG", "image/jpeg"),
        (['Content-Type: application/octet-stream; name="report.xlsx"'], "report.xlsx", XLSX),
        # A declared type is kept, even when the name disagrees.
        (["Content-Type: text/plain; name=notes.docx"], "notes.docx", "text/plain"),
        (["Content-Type: application/octet-stream; name=noext"], "noext",
         "application/octet-stream"),
    ],
)
def test_attachment_names_and_types(
    headers: list[str], filename: str, content_type: str
) -> None:
    header, body = multipart(
        "mixed", [part(["Content-Type: text/plain"], b"attached"), part(headers, b"DATA")]
    )
    (attachment,) = parse_email(mail([header], body)).attachments
    assert (attachment.filename, attachment.content_type) == (filename, content_type)


def test_text_attachment_is_not_body() -> None:
    header, body = multipart(
        "mixed",
        [
            part(["Content-Type: text/plain"], b"see the log"),
            part(
                ["Content-Type: text/plain", 'Content-Disposition: attachment; filename="err.log"'],
                b"ERROR 42",
            ),
        ],
    )
    parsed = parse_email(mail([header], body))
    assert parsed.body == "see the log"
    assert [a.filename for a in parsed.attachments] == ["err.log"]
    assert parsed.attachments[0].data == b"ERROR 42"


def test_forwarded_message_is_an_attachment() -> None:
    inner = b"From: other@example.com\r\nSubject: original\r\n\r\noriginal text\r\n"
    header, body = multipart(
        "mixed",
        [part(["Content-Type: text/plain"], b"FYI"), part(["Content-Type: message/rfc822"], inner)],
    )
    parsed = parse_email(mail([header], body))
    assert parsed.body == "FYI"
    (attached,) = parsed.attachments
    assert attached.content_type == "message/rfc822"
    assert attached.filename.endswith(".eml")
    assert b"original text" in attached.data


# --- malformed input ------------------------------------------------------------------------


def test_wrong_boundary_is_recovered_from_the_body() -> None:
    header, body = multipart(
        "mixed",
        [
            part(["Content-Type: text/plain; charset=utf-8"], "正文还在".encode()),
            part(
                [
                    "Content-Type: application/pdf",
                    'Content-Disposition: attachment; filename="a.pdf"',
                ],
                b"%PDF",
            ),
        ],
        boundary="real-boundary",
    )
    declared = header.replace("real-boundary", "declared-but-absent")
    parsed = parse_email(mail([declared], body))
    assert parsed.body == "正文还在"
    assert [a.filename for a in parsed.attachments] == ["a.pdf"]


@pytest.mark.parametrize(
    "text",
    [
        # A "-- " signature separator is no boundary (RFC 2046: none ends in a space).
        b"Hello, the printer is broken.\r\n-- \r\nWang Fang\r\n",
        # A line that looks like one but comes once and starts no part is not either.
        b"Hello, the printer is broken.\r\n--Wang Fang\r\nACME Ltd\r\n",
    ],
)
def test_a_signature_line_is_not_taken_for_the_missing_boundary(text: bytes) -> None:
    parsed = parse_email(mail(["Content-Type: multipart/alternative"], text))
    assert parsed.full_body.startswith("Hello, the printer is broken.")
    assert "Wang Fang" in parsed.full_body


def test_recovered_boundary_skips_a_signature_line_before_it() -> None:
    body = (
        b"-- \r\n"
        b"--real\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Hello, the printer is broken.\r\n-- \r\nWang Fang\r\n"
        b"--real\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="a.pdf"\r\n\r\n%PDF\r\n'
        b"--real--\r\n"
    )
    parsed = parse_email(mail(['Content-Type: multipart/mixed; boundary="absent"'], body))
    assert parsed.full_body == "Hello, the printer is broken.\n-- \nWang Fang"
    assert [a.filename for a in parsed.attachments] == ["a.pdf"]


def test_missing_closing_boundary_and_bad_base64_still_parse() -> None:
    raw = mail(
        ['Content-Type: multipart/mixed; boundary="b1"'],
        b"--b1\r\nContent-Type: text/plain\r\n\r\nbody text\r\n"
        b"--b1\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=x.png\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0K!!not*base64==\r\n",
    )
    parsed = parse_email(raw)
    assert parsed.body == "body text"
    (image,) = parsed.attachments
    assert image.filename == "x.png"
    assert image.data  # whatever could be decoded is kept, nothing raised


def test_body_with_bad_base64_text_is_kept() -> None:
    raw = mail(
        ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64"],
        b"5L2g5aW9\r\n@@@",
    )
    assert "你好" in parse_email(raw).body


def test_no_blank_line_after_headers() -> None:
    raw = b"From: a@example.cn\r\nSubject: hi\r\nthis line is body text\r\n"
    parsed = parse_email(raw)
    assert parsed.sender_address == "a@example.cn"
    assert "this line is body text" in parsed.full_body


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n\r\n", "empty"),
        (bytes(range(256)) * 4, "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"just some words without any header\r\n", "headers"),
        (b"Subject: no sender\r\n\r\nhello", "From"),
        (b"From: \r\nSubject: empty sender\r\n\r\nhello", "From"),
    ],
)
def test_unusable_input_raises_malformed_email(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedEmail) as error:
        parse_email(raw)
    assert reason.lower() in error.value.reason.lower()
    assert isinstance(error.value, ValueError)


def test_sender_header_is_used_when_from_is_missing() -> None:
    raw = b"Sender: Relay <Relay@Example.cn>\r\nSubject: x\r\n\r\nhi"
    assert parse_email(raw).sender_address == "relay@example.cn"


# --- automatic mail and bounces -------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated; owner-email=x@example.com",
        "Precedence: bulk",
        "Precedence: junk",
        "Precedence: List",
        "X-Autoreply: yes",
        "X-Autorespond: vacation",
    ],
)
def test_automatic_mail_is_recognised(header: str) -> None:
    parsed = parse_email(mail([header, "Subject: 自动回复: 休假中"], "I am away"))
    assert parsed.auto_reply_reason is not None
    assert header.split(":")[0].lower() in parsed.auto_reply_reason.lower()
    assert parsed.is_bounce is False


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: no",
        "Precedence: first-class",
        "X-Other: 1",
        # Outlook sets it on mail people write: it asks *others* not to auto-reply.
        "X-Auto-Response-Suppress: All",
        "X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply",
    ],
)
def test_mail_from_a_person_is_not_automatic(header: str) -> None:
    assert parse_email(mail([header], "hello")).auto_reply_reason is None


def dsn() -> bytes:
    original = (
        b"From: support@ledgerdesk.test\r\nTo: gone@example.org\r\n"
        b"Subject: Re: [SR-000042] repair\r\nMessage-ID: <reply-1@ledgerdesk.test>\r\n\r\nhello\r\n"
    )
    header, body = multipart(
        "report",
        [
            part(
                ["Content-Type: text/plain"],
                b"This is the mail system at host mx.example.org.\r\n"
                b"Your message could not be delivered.",
            ),
            part(
                ["Content-Type: message/delivery-status"],
                b"Reporting-MTA: dns; mx.example.org\r\n\r\n"
                b"Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n",
            ),
            part(["Content-Type: message/rfc822"], original),
        ],
        extra="; report-type=delivery-status",
    )
    return mail(
        [
            "Return-Path: <>",
            "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)",
            "To: support@ledgerdesk.test",
            "Subject: Undelivered Mail Returned to Sender",
            "Auto-Submitted: auto-replied",
            header,
        ],
        body,
    )


def test_delivery_status_notification_is_a_bounce() -> None:
    parsed = parse_email(dsn())
    assert parsed.is_bounce is True
    assert parsed.sender_address == "mailer-daemon@mx.example.org"
    assert "could not be delivered" in parsed.body
    kinds = [attachment.content_type for attachment in parsed.attachments]
    assert kinds == ["message/delivery-status", "message/rfc822"]
    assert b"Status: 5.1.1" in parsed.attachments[0].data
    assert b"[SR-000042]" in parsed.attachments[1].data


@pytest.mark.parametrize(
    "headers",
    [
        ["From: postmaster@example.org"],
        ["From: Mail Delivery Subsystem <MAILER-DAEMON@example.org>"],
        ["Return-Path: <>", "From: notices@example.org"],
    ],
)
def test_bounce_recognised_by_sender(headers: list[str]) -> None:
    assert parse_email(mail([*headers, "Subject: failure"], "failed")).is_bounce is True


def test_ordinary_mail_is_not_a_bounce() -> None:
    raw = mail(["Return-Path: <customer@example.cn>", "Subject: hi"], "hello")
    assert parse_email(raw).is_bounce is False


def test_a_forwarded_bounce_is_a_customer_mail_not_a_bounce() -> None:
    # The customer forwards the DSN they got as an attachment: its report is inside the
    # attached message, and only the top-level structure says what this mail is.
    header, body = multipart(
        "mixed",
        [
            part(["Content-Type: text/plain"], b"My colleague's mail to you bounced, see below."),
            part(["Content-Type: message/rfc822"], dsn()),
        ],
        boundary="=_forward",
    )
    parsed = parse_email(mail([header, "Subject: Fwd: Undelivered Mail"], body))
    assert parsed.is_bounce is False
    assert parsed.bounce is None
    assert parsed.auto_reply_reason is None
    assert parsed.body == "My colleague's mail to you bounced, see below."


def test_a_bounce_names_the_returned_message_and_why() -> None:
    bounce = parse_email(dsn()).bounce
    assert bounce is not None
    assert bounce.message_ids[0] == "<reply-1@ledgerdesk.test>"
    assert bounce.recipients == ("gone@example.org",)
    assert bounce.status == "5.1.1"
    assert bounce.reason == "gone@example.org: status 5.1.1"
    assert bounce.failed is True


def dsn_with_headers_only(action: str = "failed") -> bytes:
    header, body = multipart(
        "report",
        [
            part(["Content-Type: text/plain"], b"Delivery has failed to these recipients."),
            part(
                ["Content-Type: message/delivery-status"],
                b"Reporting-MTA: dns; mx.example.org\r\n\r\n"
                b"Final-Recipient: rfc822; gone@example.org\r\n"
                + f"Action: {action}\r\n".encode()
                + b"Status: 5.1.1\r\n"
                b"Diagnostic-Code: smtp; 550 5.1.1 <gone@example.org>:\r\n"
                b"    Recipient address rejected: User unknown\r\n",
            ),
            part(
                ["Content-Type: text/rfc822-headers"],
                b"From: support@ledgerdesk.test\r\n"
                b"Message-ID: <reply-0af3.SR-000042@ledgerdesk.test>\r\n"
                b"In-Reply-To: <first@customer.example>\r\nSubject: Re: [SR-000042] x\r\n",
            ),
        ],
        extra="; report-type=delivery-status",
    )
    return mail(["From: postmaster@example.org", "Subject: Undeliverable", header], body)


def test_a_bounce_with_only_the_returned_headers_and_a_diagnostic() -> None:
    bounce = parse_email(dsn_with_headers_only()).bounce
    assert bounce is not None
    # The returned mail's own Message-ID, not the one it answered.
    assert bounce.message_ids[0] == "<reply-0af3.SR-000042@ledgerdesk.test>"
    assert "<first@customer.example>" not in bounce.message_ids
    assert bounce.reason == (
        "gone@example.org: 550 5.1.1 <gone@example.org>: "
        "Recipient address rejected: User unknown"
    )


def test_a_delay_warning_is_not_a_failure() -> None:
    parsed = parse_email(dsn_with_headers_only(action="delayed"))
    assert parsed.is_bounce is True
    assert parsed.bounce is not None and parsed.bounce.failed is False


def test_a_loose_bounce_quoting_the_returned_mail_in_its_text() -> None:
    raw = mail(
        ["From: Mail Delivery System <MAILER-DAEMON@relay.example>",
         "Subject: Mail delivery failed: returning message to sender"],
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its recipients.\n"
        "  gone@example.org\n    host mx.example.org: 550 No such user\n\n"
        "------ This is a copy of the message, including all the headers. ------\n"
        "From: support@ledgerdesk.test\n"
        "Message-ID: <reply-77.SR-000042@ledgerdesk.test>\n"
        "Subject: Re: [SR-000042] repair\n",
    )
    bounce = parse_email(raw).bounce
    assert bounce is not None and bounce.failed
    assert bounce.message_ids == ("<reply-77.SR-000042@ledgerdesk.test>",)
    assert bounce.reason.startswith("This message was created automatically")


def test_an_auto_reply_with_the_null_return_path_is_not_a_bounce() -> None:
    # RFC 3834 asks vacation responders to send from the null path, like bounces.
    raw = mail(["Return-Path: <>", "Auto-Submitted: auto-replied", "Subject: 休假中"], "away")
    parsed = parse_email(raw)
    assert parsed.is_bounce is False
    assert parsed.auto_reply_reason == "Auto-Submitted: auto-replied"


# --- quote trimming -------------------------------------------------------------------------


def test_gmail_style_quote_is_trimmed() -> None:
    body = (
        "Thanks, the engineer fixed it.\n"
        "\n"
        "On Mon, 4 Mar 2024 at 10:00, Ledgerdesk Support <support@ledgerdesk.test> wrote:\n"
        "> Hello,\n"
        ">\n"
        "> An engineer will visit tomorrow.\n"
        "> > older quote\n"
    )
    parsed = parse_email(mail(["Content-Type: text/plain"], body))
    assert parsed.body == "Thanks, the engineer fixed it."
    assert "An engineer will visit tomorrow." in parsed.full_body


def test_wrapped_attribution_line_is_trimmed() -> None:
    body = (
        "Works now.\n\n"
        "On Mon, 4 Mar 2024 at 10:00, Ledgerdesk Customer Service <support@ledgerdesk.test>\n"
        "wrote:\n\n> quoted\n"
    )
    assert trim_quoted(body) == "Works now."


def test_outlook_original_message_is_trimmed() -> None:
    body = (
        "Please send the invoice again.\n\n"
        "-----Original Message-----\n"
        "From: Support <support@ledgerdesk.test>\n"
        "Sent: Monday, March 4, 2024 10:00 AM\n"
        "To: Wang <wang@example.cn>\n"
        "Subject: [SR-000123] invoice\n\n"
        "Here is your invoice.\n"
    )
    assert trim_quoted(body) == "Please send the invoice again."


def test_outlook_header_block_without_separator_is_trimmed() -> None:
    body = (
        "OK, Thursday works.\n\n"
        "________________________________\n"
        "From: Support <support@ledgerdesk.test>\n"
        "Sent: Monday, March 4, 2024 10:00\n"
        "To: wang@example.cn\n"
        "Subject: visit\n\n"
        "Can we come Thursday?\n"
    )
    assert trim_quoted(body) == "OK, Thursday works."


def test_chinese_attribution_is_trimmed() -> None:
    body = (
        "收到，谢谢！\n\n"
        "在 2024年3月4日 星期一 10:00，客服中心 <support@ledgerdesk.test> 写道：\n"
        "> 您好，工程师明天上门。\n"
    )
    assert trim_quoted(body) == "收到，谢谢！"


def test_gmail_chinese_attribution_is_trimmed() -> None:
    body = "好的。\n\n客服中心 <support@ledgerdesk.test> 于2024年3月4日周一 10:00写道：\n\n> 您好\n"
    assert trim_quoted(body) == "好的。"


def test_qq_mail_original_and_foxmail_header_block_are_trimmed() -> None:
    qq = (
        "已经重启过了，还是不行。\n\n"
        "------------------&nbsp;原始邮件&nbsp;------------------\n".replace("&nbsp;", " ")
        + '发件人: "客服中心"<support@ledgerdesk.test>;\n'
        "发送时间: 2024年3月4日(星期一) 上午10:00\n"
        '收件人: "王喆"<wang@example.cn>;\n'
        "主题: 回复：[SR-000123] 打印机故障\n\n"
        "请先重启设备。\n"
    )
    foxmail = (
        "附件是照片。\n\n"
        "发件人： 客服中心\n"
        "发送时间： 2024-03-04 10:00\n"
        "收件人： wang@example.cn\n"
        "主题： [SR-000123] 打印机故障\n\n"
        "请提供照片。\n"
    )
    assert trim_quoted(qq) == "已经重启过了，还是不行。"
    assert trim_quoted(foxmail) == "附件是照片。"


def test_interleaved_answers_keep_their_quotes() -> None:
    body = "> Is the device on?\nYes.\n> Which model?\nLD-2000.\n"
    assert trim_quoted(body) == body.strip()


def test_a_line_starting_with_from_is_not_a_header_block() -> None:
    body = "From: my side everything is fine.\nThanks.\n"
    assert trim_quoted(body) == body.strip()


def test_mail_that_is_only_a_quote_keeps_its_full_body() -> None:
    body = "On Mon, 4 Mar 2024, Support wrote:\n> Please confirm.\n"
    parsed = parse_email(mail(["Content-Type: text/plain"], body))
    assert parsed.body == parsed.full_body == body.strip()


def test_html_blockquote_reply_is_trimmed() -> None:
    html = (
        "<div>Fixed, thank you.</div><br><div>On Mon, 4 Mar 2024 at 10:00 Support "
        "&lt;support@ledgerdesk.test&gt; wrote:<br></div>"
        "<blockquote>Please restart the device.</blockquote>"
    )
    parsed = parse_email(mail(["Content-Type: text/html; charset=utf-8"], html))
    assert parsed.body == "Fixed, thank you."


# --- identity, threading, dates -------------------------------------------------------------


def test_missing_message_id_gives_a_content_hash() -> None:
    raw = b"From: a@example.cn\r\nSubject: no id\r\n\r\nhello\r\n"
    parsed = parse_email(raw)
    assert parsed.message_id is None
    assert parsed.dedupe_key == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_message_id_is_normalised_and_is_the_dedupe_key() -> None:
    raw = mail(["Message-ID:\r\n  <ABC.123@Mail.Example.CN> "], "x")
    parsed = parse_email(raw)
    assert parsed.message_id == "<ABC.123@Mail.Example.CN>"
    assert parsed.dedupe_key == "<ABC.123@Mail.Example.CN>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<a@b>", "<a@b>"),
        ("  a@b  ", "<a@b>"),
        ("< a@b >", "<a@b>"),
        ("<a@b> (comment)", "<a@b>"),
        ("", None),
        ("<>", None),
        (None, None),
    ],
)
def test_normalise_message_id(value: str | None, expected: str | None) -> None:
    assert normalise_message_id(value) == expected


def test_in_reply_to_and_references() -> None:
    raw = mail(
        [
            "In-Reply-To: <reply-7@ledgerdesk.test> (Support's message of Mon)",
            "References: <first@example.cn>\r\n <reply-7@ledgerdesk.test>\r\n\t<first@example.cn>",
        ],
        "x",
    )
    parsed = parse_email(raw)
    assert parsed.in_reply_to == "<reply-7@ledgerdesk.test>"
    assert parsed.references == ("<first@example.cn>", "<reply-7@ledgerdesk.test>")


def test_references_without_brackets() -> None:
    parsed = parse_email(mail(["References: first@example.cn, second@example.cn"], "x"))
    assert parsed.references == ("<first@example.cn>", "<second@example.cn>")
    assert parsed.in_reply_to is None


def test_date_is_utc() -> None:
    parsed = parse_email(mail(["Date: Mon, 04 Mar 2024 18:30:00 +0800"], "x"))
    assert parsed.date == datetime(2024, 3, 4, 10, 30, tzinfo=UTC)
    assert parsed.date is not None and parsed.date.utcoffset() is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 04 Mar 2024 10:30:00 -0000", datetime(2024, 3, 4, 10, 30, tzinfo=UTC)),
        ("yesterday afternoon", None),
    ],
)
def test_odd_dates(value: str, expected: datetime | None) -> None:
    assert parse_email(mail([f"Date: {value}"], "x")).date == expected


def test_missing_date_is_none_and_subject_is_empty() -> None:
    parsed = parse_email(b"From: a@example.cn\r\n\r\nhi")
    assert parsed.date is None
    assert parsed.subject == ""


def test_recipients_are_lower_cased() -> None:
    raw = mail(['To: Support <Support@LedgerDesk.test>, "Zhang, San" <ZS@example.cn>'], "x")
    assert parse_email(raw).to == ("support@ledgerdesk.test", "zs@example.cn")


def test_parsed_email_is_frozen() -> None:
    parsed = parse_email(mail([], "x"))
    assert isinstance(parsed, ParsedEmail)
    with pytest.raises(AttributeError):
        parsed.subject = "changed"  # type: ignore[misc]


# --- references in subjects -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: [SR-000123] printer", "SR-000123"),
        ("回复：[sr-000123] 打印机", "SR-000123"),
        ("[SR-1234567] long numbers", "SR-1234567"),
        ("[ SR-000042 ]", "SR-000042"),
        ("SR-000123 without brackets", None),
        ("[SR-123] too short", None),
        ("no reference", None),
    ],
)
def test_find_reference(subject: str, expected: str | None) -> None:
    assert find_reference(subject) == expected


def test_reference_in_an_encoded_subject() -> None:
    subject = encoded_word("回复：[SR-000777] 维修进度", "gbk")
    assert find_reference(parse_email(mail([f"Subject: {subject}"], "x")).subject) == "SR-000777"
