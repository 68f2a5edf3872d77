"""Complaints, reminders and notifications in a real browser against a real desk
(tests/e2e/conftest.py: `ledgerdesk serve` with an aiosmtpd relay): an agent
classifies and answers a complaint from the request page (the result leaves by
mail), sets a reminder; a manager's urge shows in the agent's notifications and
reaches the agent by mail.  Screenshots in English and Chinese."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, expect

from channels.web.i18n import translations

from .conftest import CUSTOMER_CODE, CUSTOMER_EMAIL, PASSWORD, Desk, screenshot, sign_in
from .test_console_browser import act, plain_text

AGENT = "zhou.lin@desk.example"
MANAGER = "gao.min@desk.example"


def test_a_complaint_answered_and_an_urge_notified_in_both_languages(
    desk: Desk, new_context: Callable[[], BrowserContext]
) -> None:
    chinese = translations("zh-CN")
    desk.cli("user", "add", AGENT, "--role", "agent", "--name", "周林", "--password-stdin",
             stdin=PASSWORD + "\n")
    desk.cli("user", "add", MANAGER, "--role", "manager", "--name", "高敏", "--password-stdin",
             stdin=PASSWORD + "\n")
    for code, name in (("hotline", "热线"), ("quality", "质量部"), ("complaints", "投诉组")):
        assert desk.api("POST", "/teams", {"code": code, "name": name})[0] in (201, 409)
    assert desk.api("POST", "/teams/hotline/members", {"email": AGENT})[0] == 200
    status, made = desk.api("POST", "/service-requests", {
        "customer_code": CUSTOMER_CODE, "type": "complaint", "channel": "phone",
        "subject": "投诉：上门工程师迟到三小时",
        "description": "约定九点上门，十二点才到，期间无人联系。"})
    assert status == 201, made
    reference = made["reference"]

    page = new_context().new_page()
    sign_in(page, AGENT, lang="en")
    page.goto(f"/console/requests/{reference}")
    panel = page.locator(".complaint-panel")
    expect(panel).to_have_attribute("data-complaint-state", "registered")
    form = 'form[data-action="complaint"]'
    page.select_option(f"{form} select[name=category]", "delay")
    page.select_option(f"{form} select[name=target]", "service")
    page.select_option(f"{form} select[name=level]", "major")
    act(page, desk, reference, "complaint", replies=0)
    expect(panel).to_have_attribute("data-complaint-state", "classified")
    expect(panel.locator(".facts")).to_contain_text("Suggested completion")
    act(page, desk, reference, "complaint_handle", replies=0)
    expect(panel).to_have_attribute("data-complaint-state", "in_handling")

    # A reminder for later today, for oneself.
    page.fill('form[data-action="reminder"] input[name="at"]', "2030-01-15T09:30")
    page.fill('form[data-action="reminder"] input[name="note"]', "回访客户，确认改进措施")
    act(page, desk, reference, "reminder", replies=0)
    expect(page.locator('.reminder-list li[data-state="set"]')).to_contain_text("回访客户")
    screenshot(page, "complaint-in-handling-en")

    result = ("李先生您好：经核实，工程师因前一单延误未及时通知您，"
              "我们已对其批评教育，并免除本次上门费。")
    page.fill('form[data-action="complaint_result"] textarea[name="body"]', result)
    act(page, desk, reference, "complaint_result", replies=1)
    expect(panel).to_have_attribute("data-complaint-state", "result_sent")
    # Taken by phone (the hotline): the result goes by mail to the customer's address.
    mail = desk.sent(lambda m: reference in str(m["Subject"])
                     and CUSTOMER_EMAIL in m.envelope_to and "免除" in plain_text(m))
    assert result in plain_text(mail)
    for kind in ("complaint_classified", "complaint_handling", "complaint_result_sent",
                 "reminder_set"):
        expect(page.locator(f'#timeline [data-kind="{kind}"]')).to_have_count(1)
    screenshot(page, "complaint-answered-en")
    page.goto(f"/console/requests/{reference}?lang=zh-CN")
    expect(page.locator("#complaint-title")).to_contain_text(chinese.gettext("Complaint"))
    screenshot(page, "complaint-answered-zh-CN")

    # A manager urges a request the agent holds: the badge, the page, the mail.
    status, held = desk.api("POST", "/service-requests", {
        "customer_code": CUSTOMER_CODE, "type": "support", "subject": "冷水机压缩机异响"})
    assert desk.api("POST", f"/service-requests/{held['reference']}/assign",
                    {"agent": AGENT})[0] == 200
    boss = new_context().new_page()
    sign_in(boss, MANAGER, lang="en")
    boss.goto(f"/console/requests/{held['reference']}")
    boss.fill('form[data-action="urge"] input[name="message"]',
              "客户第三次来电，今天必须给出上门时间")
    with boss.expect_navigation():
        boss.click('form[data-action="urge"] button[type="submit"]')
    urged = desk.sent(lambda m: AGENT in m.envelope_to and held["reference"] in
                      str(m["Subject"]))
    assert "客户第三次来电" in plain_text(urged)
    page.goto("/console?lang=zh-CN")
    expect(page.locator(".notifications-link .count.unread")).to_have_text("1")
    page.click(".notifications-link")
    expect(page.locator(".notification.unread")).to_contain_text("客户第三次来电")
    screenshot(page, "notifications-zh-CN")
    page.goto("/console/notifications?lang=en")
    expect(page.locator("h1")).to_contain_text("Notifications")
    screenshot(page, "notifications-en")
    with page.expect_navigation():
        page.click('.notification.unread button[name="next"]')
    expect(page).to_have_url(desk.url(f"/console/requests/{held['reference']}"))
    expect(page.locator(".notifications-link .count.unread")).to_have_count(0)
