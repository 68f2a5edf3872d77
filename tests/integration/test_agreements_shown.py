"""Issue 16's gap 1: a unit's service agreements show in the customer 360 (with
whether each is in force today), on the console's customer page (where staff
add one, with a CSRF-checked form and the refusal said beside it) and on the
portal's products page; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from tests.integration.test_console import csrf_of, sign_in
from tests.integration.test_settlement import (
    AGENT,
    CUSTOMER,
    SERIAL,
    Desk,
    desk,  # noqa: F401  (the fixture)
)


def test_agreements_show_in_the_360_the_console_and_the_portal(desk: Desk) -> None:  # noqa: F811
    today = datetime.now(UTC).date()
    past = (today - timedelta(days=400), today - timedelta(days=35))
    running = (today - timedelta(days=30), today + timedelta(days=335))
    desk.post(AGENT, f"/products/{SERIAL}/agreements", {
        "code": "SA-OLD", "starts_on": past[0].isoformat(), "ends_on": past[1].isoformat()},
        201)
    desk.project()

    browser = TestClient(desk.asgi, headers={"Accept-Language": "en"})
    sign_in(browser, AGENT)
    page = browser.get("/console/customers/ACME").text
    assert 'data-agreement="SA-OLD"' in page and 'data-action="add-agreement"' in page
    form = "/console/customers/ACME/agreements"
    # Without the CSRF token: refused, nothing added.
    assert browser.post(form, data={"serial": SERIAL, "code": "SA-X", "starts_on": "2026-01-01",
                                    "ends_on": "2026-12-31"}).status_code == 403
    # A date that is none: said beside the form, what was typed kept.
    bad = browser.post(form, data={"csrf_token": csrf_of(page), "serial": SERIAL,
                                   "code": "SA-2026", "level": "gold",
                                   "starts_on": "someday", "ends_on": "2026-12-31"})
    assert bad.status_code == 400 and 'data-error="agreements"' in bad.text
    assert "starts_on" in bad.text and 'value="SA-2026"' in bad.text
    ok = browser.post(form, data={"csrf_token": csrf_of(page), "serial": SERIAL,
                                  "code": "SA-2026", "level": "gold",
                                  "starts_on": running[0].isoformat(),
                                  "ends_on": running[1].isoformat()}, follow_redirects=False)
    assert ok.status_code == 303
    desk.project()

    c360 = desk.api(AGENT).get("/api/v1/customers/ACME/360").json()
    assert c360["installed_products"][0]["agreements"] == [
        {"code": "SA-OLD", "level": None, "starts_on": past[0].isoformat(),
         "ends_on": past[1].isoformat(), "in_force": False},
        {"code": "SA-2026", "level": "gold", "starts_on": running[0].isoformat(),
         "ends_on": running[1].isoformat(), "in_force": True}]
    unit = desk.api(AGENT).get(f"/api/v1/products/{SERIAL}").json()
    assert [a["code"] for a in unit["agreements"]] == ["SA-OLD", "SA-2026"]
    page = browser.get("/console/customers/ACME").text
    assert 'data-agreement="SA-2026"' in page and "in force" in page

    portal = TestClient(desk.asgi, headers={"Accept-Language": "en"})
    sign_in(portal, CUSTOMER)
    products = portal.get("/portal/products").text
    assert 'data-agreement="SA-2026"' in products and 'data-agreement="SA-OLD"' in products
    assert "not in force today" in products
