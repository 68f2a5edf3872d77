"""Customer upkeep and team management in a real browser (issue 15, items 3 and 10):
the customer list's search by number, the customer page's forms (profile, contact,
identity, representative, merge) with their flash and a refusal beside the form, and
the teams page, in English and Chinese, with screenshots of each."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Locator, Page, expect

from .conftest import AGENTS, CUSTOMER_CODE, PASSWORD, Desk, screenshot, sign_in

TEAM_ADMIN = "teams.admin@desk.example"


def identities(page: Page) -> Locator:
    return page.locator("section.card", has=page.locator('form[data-action="link-identity"]'))


def submit(page: Page, action: str) -> None:
    with page.expect_navigation():
        page.click(f'form[data-action="{action}"] button[type="submit"]')


def test_customer_upkeep_forms_in_english(desk: Desk,
                                          new_context: Callable[[], BrowserContext]) -> None:
    status, made = desk.api("POST", "/customers", {
        "code": "P-WALKIN", "name": "Walk-in caller", "classification": "provisional",
        "phones": ["0755-2345 6789"]})
    assert status == 201, made
    page = new_context().new_page()
    agent, _ = AGENTS["alice"]
    sign_in(page, agent, lang="en")

    page.goto("/console/customers?q=%2B86%20755%202345%206789")
    expect(page.locator('tr[data-customer="P-WALKIN"]')).to_be_visible()
    screenshot(page, "customers-search-en")

    page.goto(f"/console/customers/{CUSTOMER_CODE}")
    page.fill('form[data-action="profile"] input[name="region"]', "华东")
    submit(page, "profile")
    expect(page.locator(".flash")).to_have_text("Profile saved.")

    form = 'form[data-action="add-contact"]'
    page.fill(f'{form} input[name="name"]', "李工")
    page.fill(f'{form} input[name="department"]', "设备科")
    page.fill(f'{form} input[name="phone"]', "138 0000 0001")
    submit(page, "add-contact")
    expect(page.locator(".flash")).to_have_text("Contact added.")
    expect(page.locator(".contact", has_text="+86 138 0000 0001")).to_be_visible()

    form = 'form[data-action="link-identity"]'
    page.select_option(f'{form} select[name="kind"]', "phone")
    page.fill(f'{form} input[name="value"]', "010-66550101")
    submit(page, "link-identity")
    expect(page.locator(".flash")).to_have_text("Identity linked.")
    expect(identities(page)).to_contain_text("+86 10 6655 0101")

    # The same number spelt another way is the same identity: already linked here,
    # and a walk-in's number belongs to the walk-in.
    page.select_option(f'{form} select[name="kind"]', "phone")
    page.fill(f'{form} input[name="value"]', "+86 755 2345 6789")
    submit(page, "link-identity")
    error = page.locator(f'{form} .error')
    expect(error).to_contain_text("already belongs to customer P-WALKIN")
    expect(page.locator(f'{form} input[name="value"]')).to_have_value("+86 755 2345 6789")
    screenshot(page, "customer-upkeep-refused-en")

    page.select_option('form[data-action="representative"] select[name="representative"]',
                       agent)
    submit(page, "representative")
    expect(page.locator(".flash")).to_have_text("Representative assigned.")

    page.goto("/console/customers/P-WALKIN")
    page.fill('form[data-action="merge"] input[name="target"]', CUSTOMER_CODE)
    submit(page, "merge")
    expect(page).to_have_url(desk.url(f"/console/customers/{CUSTOMER_CODE}"))
    expect(page.locator(".flash")).to_have_text("Customer merged.")
    expect(identities(page)).to_contain_text("+86 755 2345 6789")
    screenshot(page, "customer-upkeep-en")


def test_customer_upkeep_and_teams_in_chinese(desk: Desk,
                                              new_context: Callable[[], BrowserContext]
                                              ) -> None:
    page = new_context().new_page()
    agent, _ = AGENTS["bob"]
    sign_in(page, agent, lang="zh-CN")
    page.goto(f"/console/customers/{CUSTOMER_CODE}")
    form = 'form[data-action="link-identity"]'
    page.select_option(f'{form} select[name="kind"]', "fax")
    page.fill(f'{form} input[name="value"]', "请回电")
    submit(page, "link-identity")
    expect(page.locator(f'{form} .error')).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    screenshot(page, "customer-upkeep-refused-zh-CN")
    form = 'form[data-action="add-contact"]'
    page.fill(f'{form} input[name="name"]', "赵敏")
    page.fill(f'{form} input[name="phone"]', "(010) 6655-0199")
    submit(page, "add-contact")
    expect(page.locator(".flash")).to_be_visible()
    screenshot(page, "customer-upkeep-zh-CN")

    desk.cli("user", "add", TEAM_ADMIN, "--role", "admin", "--name", "团队管理员",
             "--password-stdin", stdin=PASSWORD + "\n")
    admin = new_context().new_page()
    sign_in(admin, TEAM_ADMIN, lang="zh-CN")
    admin.goto("/console")
    admin.click("a[data-manage-teams]")
    expect(admin).to_have_url(desk.url("/console/teams"))
    admin.fill('form[data-action="create-team"] input[name="code"]', "hotline")
    admin.fill('form[data-action="create-team"] input[name="name"]', "热线")
    submit(admin, "create-team")
    team = admin.locator('section[data-team="hotline"]')
    team.locator('select[name="email"]').select_option(agent)
    with admin.expect_navigation():
        team.locator('form[data-action="add-member"] button').click()
    expect(admin.locator(f'section[data-team="hotline"] li[data-member="{agent}"]')
           ).to_be_visible()
    screenshot(admin, "teams-zh-CN")
    admin.goto("/console/teams?lang=en")
    screenshot(admin, "teams-en")
