"""The reports page in a real browser against a real desk (see conftest.py): a manager
opens it after a request came by mail and was answered, sees the figures and that their
times are business hours (which hours, and wall-clock time beside), and downloads the CSV
(issue 15 item 8).  Screenshots in both languages."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from playwright.sync_api import BrowserContext, expect

from .conftest import PASSWORD, Desk, screenshot, sign_in

MANAGER = ("reports.manager@desk.example", "王芳")
SUBJECT = "注塑机 IM-220 液压油温过高"
# The desk reads no ledgerdesk.toml: the default calendar, in Chinese and English.
HOURS = {"zh-CN": "周一–周五 09:00–18:00 (Asia/Shanghai)",
         "en": "Mon–Fri 09:00–18:00 (Asia/Shanghai)"}
UNIT = {"zh-CN": "时间按工作时间计算：", "en": "Times are in business hours:"}


@pytest.fixture(scope="module", autouse=True)
def manager(desk: Desk) -> None:
    email, name = MANAGER
    desk.cli("user", "add", email, "--role", "manager", "--name", name,
             "--password-stdin", stdin=PASSWORD + "\n")


def test_a_manager_reads_the_report_in_business_hours(
        desk: Desk, new_context: Callable[[], BrowserContext]) -> None:
    desk.deliver(SUBJECT, "油温升到 65 度就报警停机，请尽快处理。")
    reference = desk.reference_of(SUBJECT)
    status, answer = desk.api("POST", f"/service-requests/{reference}/replies",
                              {"body": "您好，请先检查冷却水阀是否打开，工程师稍后致电。"})
    assert status == 202, answer
    desk.settle(reference, replies=2)  # the acknowledgement and the answer

    page = new_context().new_page()
    sign_in(page, MANAGER[0])
    today = datetime.now(UTC).date().isoformat()
    for lang, suffix in (("zh-CN", "zh"), ("en", "en")):
        page.goto(f"/console/reports?from={today}&to={today}&lang={lang}")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("main.reports")).to_contain_text(UNIT[lang])
        expect(page.locator('[data-figure="business-hours"]')).to_have_text(HOURS[lang])
        expect(page.locator('[data-figure="first-response-wall-clock"]')).to_be_visible()
        expect(page.locator('[data-report="first-response"] h2')).to_contain_text(
            "工作时间" if lang == "zh-CN" else "business hours")
        screenshot(page, f"reports-{suffix}")

    with page.expect_download() as download:
        page.click('a[data-action="report-csv"]')
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    found = {(s, k): v for s, k, v in rows[1:]}
    assert found[("period", "time_basis")] == "business_time"
    assert int(found[("volume", "total")]) >= 1
    assert int(found[("first_response", "count")]) >= 1
