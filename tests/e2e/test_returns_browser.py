"""A return (RMA, 退换货) in a real browser: the engineer's diagnosis (refused without
a known cause), the technical centre's judgement and the manager's approval on the
console's request page, and what the customer reads in the portal; screenshots in
both languages (var/test-artifacts/screenshots/returns-*.png)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from .conftest import CUSTOMER_CODE, PASSWORD, Desk, screenshot, sign_in, wait_until

ENGINEER = "zhou.gong@desk.example"
JUDGE = "tc.lin@desk.example"
MANAGER = "boss.qian@desk.example"
CUSTOMER = "wu.ting@huaxin.example.cn"


def _user(desk: Desk, email: str, role: str, name: str, *extra: str) -> None:
    desk.cli("user", "add", email, "--role", role, "--name", name, "--password-stdin",
             *extra, stdin=PASSWORD + "\n")


def _step(page: Page, desk: Desk, reference: str, action: str) -> None:
    with page.expect_navigation() as navigation:
        page.click(f'form[data-action="{action}"] button[type="submit"]')
    response = navigation.value
    assert response is not None and response.ok, (action, page.locator(".error").all_inner_texts())
    desk.settle(reference, 0)
    page.goto(f"/console/requests/{reference}")


def test_a_return_is_diagnosed_judged_and_approved_in_the_console(
    desk: Desk, new_context: Callable[[], BrowserContext]
) -> None:
    _user(desk, ENGINEER, "engineer", "周工")
    _user(desk, JUDGE, "agent", "林技术")
    _user(desk, MANAGER, "manager", "钱经理")
    _user(desk, CUSTOMER, "customer_admin", "吴婷", "--customer", CUSTOMER_CODE)
    status, made = desk.api("POST", "/service-requests", {
        "customer_code": CUSTOMER_CODE, "type": "return", "channel": "phone",
        "subject": "退货:新到电机异响", "description": "收货三天电机有异响,要求换货"})
    assert status == 201, made
    reference = made["reference"]
    wait_until(lambda: desk.api("GET", f"/service-requests/{reference}")[0] == 200, 15,
               f"{reference} projected")
    desk.settle(reference, 0)

    # The engineer: no diagnosis without a known cause, then the diagnosis.
    page = new_context().new_page()
    sign_in(page, ENGINEER, lang="en")
    page.goto(f"/console/requests/{reference}")
    panel = page.locator("section.return-panel")
    expect(panel).to_have_attribute("data-return-stage", "requested")
    page.fill('form[data-action="diagnosis"] input[name="cause"]', "unknown")
    with page.expect_navigation():
        page.click('form[data-action="diagnosis"] button[type="submit"]')
    expect(panel.locator(".error")).to_contain_text("cause is not known")
    expect(page.locator('form[data-action="diagnosis"] input[name="cause"]')).to_have_value(
        "unknown")
    screenshot(page, "returns-diagnosis-refused-en")
    page.fill('form[data-action="diagnosis"] input[name="cause"]', "bearing 6204 worn")
    page.fill('form[data-action="diagnosis"] textarea[name="findings"]',
              "Noise above 40 Hz; the unit arrived three days ago.")
    _step(page, desk, reference, "diagnosis")
    expect(panel).to_have_attribute("data-return-stage", "diagnosed")
    expect(page.locator('[data-kind="diagnosis"]')).to_contain_text("bearing 6204 worn")
    expect(page.locator('form[data-action="judgement"]')).to_have_count(0)  # not theirs

    # The technical centre judges: an exchange.
    page = new_context().new_page()
    sign_in(page, JUDGE, lang="en")
    page.goto(f"/console/requests/{reference}")
    page.select_option('form[data-action="judgement"] select[name="decision"]', "exchange")
    page.fill('form[data-action="judgement"] input[name="reason"]', "Fault within 90 days")
    _step(page, desk, reference, "judgement")
    expect(page.locator("section.return-panel")).to_have_attribute("data-return-stage",
                                                                   "judged")
    expect(page.locator('form[data-action="approval"]')).to_have_count(0)  # managers only

    # The manager approves; the case goes to the commercial process.
    page = new_context().new_page()
    sign_in(page, MANAGER, lang="en")
    page.goto(f"/console/requests/{reference}")
    screenshot(page, "returns-awaiting-approval-en")
    page.check('form[data-action="approval"] input[name="approved"][value="yes"]')
    page.fill('form[data-action="approval"] input[name="comment"]', "OK, exchange it")
    _step(page, desk, reference, "approval")
    panel = page.locator("section.return-panel")
    expect(panel).to_have_attribute("data-return-stage", "handed_off")
    expect(page.locator('[data-kind="commercial_hand_off"]')).to_have_count(1)
    screenshot(page, "returns-handed-off-en")
    page.goto(f"/console/requests/{reference}?lang=zh-CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("section.return-panel h2")).to_contain_text("退换货")
    expect(page.locator("section.return-panel .badge")).to_contain_text("已转商务")
    screenshot(page, "returns-handed-off-zh")

    # The customer sees the stage and the outcome, not the cause or the reasons.
    page = new_context().new_page()
    sign_in(page, CUSTOMER, lang="en")
    page.goto(f"/portal/requests/{reference}")
    standing = page.locator("section.return-standing")
    expect(standing).to_contain_text("Exchange approved")
    expect(page.locator("body")).not_to_contain_text("bearing 6204")
    expect(page.locator("body")).not_to_contain_text("Fault within 90 days")
    screenshot(page, "returns-portal-en")
    page.goto(f"/portal/requests/{reference}?lang=zh-CN")
    expect(standing).to_contain_text("换货已批准")
    screenshot(page, "returns-portal-zh")


def test_a_quality_problem_goes_to_the_quality_list_and_the_settlement_page_shows(
    desk: Desk, new_context: Callable[[], BrowserContext]
) -> None:
    boss = "boss.sun@desk.example"
    _user(desk, boss, "manager", "孙经理")
    status, made = desk.api("POST", "/service-requests", {
        "customer_code": CUSTOMER_CODE, "type": "repair", "channel": "phone",
        "subject": "电机过热", "description": "运行两小时后电机过热"})
    assert status == 201, made
    reference = made["reference"]
    wait_until(lambda: desk.api("GET", f"/service-requests/{reference}")[0] == 200, 15,
               f"{reference} projected")
    page = new_context().new_page()
    sign_in(page, boss, lang="en")
    page.goto(f"/console/requests/{reference}")
    page.click("details.quality-raise summary")
    form = 'form[data-action="quality"]'
    page.fill(f'{form} input[name="product"]', "MX-3000")
    page.fill(f'{form} input[name="batch"]', "B2024-11")
    page.fill(f'{form} textarea[name="symptom"]', "Motor overheats after two hours at full load")
    with page.expect_navigation():
        page.click(f"{form} button[type='submit']")
    wait_until(lambda: desk.api("GET", "/quality-cases")[1]["items"], 15, "the quality case")
    page.goto("/console/quality?team=quality")
    row = page.locator("tr[data-quality-case]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("B2024-11")
    with page.expect_navigation():
        row.locator('form[data-action="investigate"] button').click()
    wait_until(lambda: desk.api("GET", "/quality-cases")[1]["items"][0]["status"]
               == "investigating", 15, "the investigation")
    page.goto("/console/quality")
    expect(page.locator("tr[data-quality-case]")).to_have_attribute("data-status",
                                                                    "investigating")
    screenshot(page, "quality-cases-en")
    page.goto("/console/quality?lang=zh-CN")
    expect(page.locator("h1")).to_contain_text("质量案例")
    screenshot(page, "quality-cases-zh")
    page.goto("/console/settlement")
    expect(page.locator("h1")).to_contain_text("服务工资结算")
    screenshot(page, "settlement-zh")
    page.goto("/console/settlement?lang=en")
    expect(page.locator("table.settlement-engineers")).to_be_visible()
    screenshot(page, "settlement-en")
