"""Field service in a real browser (issue 16): a coordinator records the intake
and dispatches, the engineer accepts, visits, fills the service report and the
customer signs it on the canvas (mouse and touch), and the customer's portal
shows the stage.  Screenshots in both languages."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from .conftest import CUSTOMER_CODE, PASSWORD, Desk, screenshot, sign_in, wait_until

COORDINATOR = ("coord.liu@desk.example", "刘协调")
ENGINEER = ("eng.zhou@desk.example", "周工")
CUSTOMER = "sun.li@huaxin.example.cn"


def draw(page: Page, canvas: str) -> None:
    """A signature: strokes with the mouse, then one with a finger (touch pointer events)."""
    box = page.locator(canvas).bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.1, y + h * 0.6)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(x + w * (0.1 + 0.02 * i), y + h * (0.6 - 0.3 * ((i % 5) / 5)))
    page.mouse.up()
    page.locator(canvas).evaluate("""(c) => {
        const box = c.getBoundingClientRect();
        const at = (f) => ({clientX: box.left + box.width * f, clientY: box.top + box.height * 0.7,
                            pointerId: 7, pointerType: 'touch', bubbles: true});
        c.dispatchEvent(new PointerEvent('pointerdown', at(0.55)));
        for (let f = 0.56; f < 0.85; f += 0.02) {
            c.dispatchEvent(new PointerEvent('pointermove', at(f)));
        }
        c.dispatchEvent(new PointerEvent('pointerup', at(0.85)));
    }""")


def inked(page: Page, canvas: str) -> int:
    """How many pixels of the canvas are drawn on."""
    return int(page.locator(canvas).evaluate("""(c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;
    }"""))


def post(page: Page, action: str) -> None:
    with page.expect_navigation():
        page.locator(f'form[data-action="{action}"] button[type="submit"]').click()


def test_dispatch_visit_report_and_a_drawn_signature(
    desk: Desk, new_context: Callable[[], BrowserContext],
) -> None:
    for (email, name), role in ((COORDINATOR, "agent"), (ENGINEER, "engineer")):
        desk.cli("user", "add", email, "--role", role, "--name", name, "--password-stdin",
                 stdin=PASSWORD + "\n")
    desk.cli("user", "add", CUSTOMER, "--role", "customer_admin", "--customer", CUSTOMER_CODE,
             "--name", "孙丽", "--password-stdin", stdin=PASSWORD + "\n")
    status, made = desk.api("POST", "/service-requests", {
        "customer_code": CUSTOMER_CODE, "type": "repair", "subject": "UPS 无法开机",
        "description": "机房 UPS 今早断电后无法开机", "channel": "phone"})
    assert status == 201, made
    ref = made["reference"]
    wait_until(lambda: desk.api("GET", f"/service-requests/{ref}")[0] == 200, 10,
               "the request projected")

    coordinator = new_context().new_page()
    sign_in(coordinator, COORDINATOR[0])
    coordinator.goto(f"/console/requests/{ref}")
    intake = coordinator.locator('form[data-action="field-intake"]')
    intake.locator('textarea[name="symptom"]').fill("断电后无法开机，面板无显示")
    intake.locator('select[name="warranty"]').select_option("in")
    intake.locator('select[name="mode"]').select_option("on_site")
    intake.locator('input[name="level"]').fill("金牌")
    post(coordinator, "field-intake")
    expect(coordinator.locator('#timeline [data-kind="intake"]')).to_be_visible()
    dispatch = coordinator.locator('form[data-action="field-dispatch"]')
    dispatch.locator('select[name="engineer"]').select_option(ENGINEER[0])
    dispatch.locator('input[name="appointment_at"]').fill("2026-12-07T09:30")
    dispatch.locator('input[name="distance_km"]').fill("18")
    post(coordinator, "field-dispatch")
    expect(coordinator.locator("#field")).to_have_attribute("data-stage", "dispatched")
    screenshot(coordinator, "field-dispatched-en")

    status, _ = desk.api("POST", "/parts/FAN-220V/receive", {"warehouse": "BJ", "qty": 5})
    assert status == 200
    status, answer = desk.api("POST", "/parts/FAN-220V/issue", {
        "warehouse": "BJ", "engineer": ENGINEER[0], "qty": 2, "reference": ref})
    assert status == 200, answer

    engineer = new_context().new_page()
    sign_in(engineer, ENGINEER[0])
    engineer.goto("/console/field-jobs")
    expect(engineer.locator(f'tr[data-reference="{ref}"]')).to_have_attribute(
        "data-stage", "dispatched")
    screenshot(engineer, "field-my-jobs-en")
    engineer.locator(f'tr[data-reference="{ref}"] a').click()
    post(engineer, "field-accept")
    post(engineer, "field-visit-start")
    expect(engineer.locator("#field")).to_have_attribute("data-stage", "visiting")
    engineer.locator('form[data-action="field-visit-end"] input[name="distance_km"]').fill("21")
    post(engineer, "field-visit-end")

    report = engineer.locator('form[data-action="field-report"]')
    report.locator('textarea[name="cause"]').fill("风扇损坏导致过热保护")
    report.locator('textarea[name="actions"]').fill("更换风扇，开机测试 30 分钟正常")
    report.locator('input[name="minutes"]').fill("75")
    report.locator('tr[data-sku="FAN-220V"] input[name="part_qty"]').fill("1")
    report.locator('tr[data-sku="FAN-220V"] input[name="part_serials"]').fill("FAN-OLD-0917")
    report.locator('input[name="signed_by"]').fill("孙丽")
    canvas = 'form[data-action="field-report"] canvas.signature-pad'
    engineer.locator(canvas).scroll_into_view_if_needed()
    draw(engineer, canvas)
    assert inked(engineer, canvas) > 200
    engineer.locator('[data-signature-clear="report-signature"]').click()
    assert inked(engineer, canvas) == 0
    draw(engineer, canvas)
    screenshot(engineer, "field-report-signing-en")
    post(engineer, "field-report")

    entry = engineer.locator('#timeline [data-kind="service_report"]')
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("FAN-220V × 1")
    expect(entry).to_contain_text("孙丽")
    signature = entry.locator("img.signature-image")
    expect(signature).to_be_visible()
    assert signature.evaluate("(img) => img.complete && img.naturalWidth") == 560
    expect(engineer.locator("#field")).to_have_attribute("data-stage", "reported")
    entry.scroll_into_view_if_needed()
    screenshot(engineer, "field-report-filed-en")
    engineer.goto(f"/console/requests/{ref}?lang=zh-CN")
    expect(engineer.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(engineer.locator("#field-title")).to_have_text("现场服务")
    screenshot(engineer, "field-report-filed-zh-CN")
    engineer.goto("/console/field-jobs")
    screenshot(engineer, "field-my-jobs-zh-CN")

    status, part = desk.api("GET", "/parts/FAN-220V")
    assert status == 200 and part["stock"] == {"BJ": 3}

    admin_token_page = new_context().new_page()
    sign_in(admin_token_page, COORDINATOR[0], lang="zh-CN")
    admin_token_page.goto(f"/console/requests/{ref}")
    expect(admin_token_page.locator("#field")).to_contain_text("已提交服务单")
    admin_token_page.goto("/console/parts")
    expect(admin_token_page.locator('tr[data-sku="FAN-220V"]')).to_be_visible()
    screenshot(admin_token_page, "field-parts-zh-CN")
    admin_token_page.goto("/console/parts?lang=en")
    screenshot(admin_token_page, "field-parts-en")

    customer = new_context().new_page()
    sign_in(customer, CUSTOMER)
    customer.goto(f"/portal/requests/{ref}")
    card = customer.locator("section.repair")
    expect(card).to_have_attribute("data-repair-stage", "service_report")
    expect(card).to_contain_text("Service report signed.")
    assert ENGINEER[0] not in customer.content()
    screenshot(customer, "field-portal-repair-en")
    customer.goto(f"/portal/requests/{ref}?lang=zh-CN")
    expect(customer.locator("section.repair")).to_contain_text("服务单已签字确认。")
    screenshot(customer, "field-portal-repair-zh-CN")
