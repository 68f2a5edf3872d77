"""Issue 15 item 4 (gap 5 of issue 16's follow-up): an escalation flagged as a
major quality problem raises a QualityCase (origin `escalation`) for the quality
and product teams' queues, together with the escalation, from the console's
escalate form; on SQLite and PostgreSQL."""

from __future__ import annotations

from starlette.testclient import TestClient

from domain.aggregates.service_request import ServiceRequest
from domain.ids import request_id
from domain.requests.commands import OpenRequest
from tests.integration.test_console import csrf_of, sign_in
from tests.integration.test_settlement import (
    AGENT,
    SERIAL,
    Desk,
    desk,  # noqa: F401  (the fixture)
)


def test_a_major_quality_escalation_raises_a_quality_case(desk: Desk) -> None:  # noqa: F811
    ref = str(desk.app.handle(OpenRequest("ACME", "repair", "电机烧毁", actor=AGENT,
                                          product=SERIAL)))
    desk.project()
    browser = TestClient(desk.asgi, headers={"Accept-Language": "en"})
    sign_in(browser, AGENT)
    page = browser.get(f"/console/requests/{ref}").text
    assert 'name="quality"' in page and 'id="escalate-batch"' in page
    form = f"/console/requests/{ref}/escalate"
    typed = {"reason": "third burnt motor this month", "quality": "yes",
             "product": "MX-3000", "symptom": "motor burns out after 2 weeks"}

    # Ticked without a batch: the field is named, what was typed kept, nothing saved.
    bad = browser.post(form, data={**typed, "csrf_token": csrf_of(page)},
                       follow_redirects=False)
    assert bad.status_code == 400 and "batch" in bad.text
    assert "motor burns out after 2 weeks" in bad.text
    request = desk.app.store.get(ServiceRequest, request_id(ref))
    assert request is not None and request.status != "escalated"

    ok = browser.post(form, data={**typed, "batch": "B2024-03", "csrf_token": csrf_of(page)},
                      follow_redirects=False)
    assert ok.status_code == 303
    desk.project()
    request = desk.app.store.get(ServiceRequest, request_id(ref))
    assert request is not None and request.status == "escalated"
    cases = desk.api(AGENT).get("/api/v1/quality-cases?team=quality").json()["items"]
    assert [(c["source_reference"], c["origin"], c["product"], c["batch"], c["serial"],
             sorted(c["teams"])) for c in cases] == [
        (ref, "escalation", "MX-3000", "B2024-03", SERIAL, ["product", "quality"])]

    # Unticked, an escalation raises no case.
    other = str(desk.app.handle(OpenRequest("ACME", "repair", "卡纸", actor=AGENT)))
    desk.project()
    page = browser.get(f"/console/requests/{other}").text
    plain = browser.post(f"/console/requests/{other}/escalate",
                         data={"reason": "customer waits", "product": "MX-3000",
                               "csrf_token": csrf_of(page)}, follow_redirects=False)
    assert plain.status_code == 303
    desk.project()
    assert len(desk.api(AGENT).get("/api/v1/quality-cases").json()["items"]) == 1
