"""The console's field-service panel, the engineer's jobs page, the parts stock
page and the portal's repair card (issue 16 item 5), through the pages' forms on
SQLite and PostgreSQL."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.integration.test_field_service import (
    ADMIN,
    AGENT,
    CUSTOMER,
    ENGINEER,
    ENGINEER2,
    Desk,
    desk,
    png,
)
from tests.support.desks import csrf_of, sign_in

__all__ = ["desk"]


DESKS: dict[int, Desk] = {}


def browser(desk: Desk, email: str) -> TestClient:
    desk.project()
    client = TestClient(desk.asgi, headers={"Accept-Language": "en"})
    sign_in(client, email)
    DESKS[id(client)] = desk
    return client


def desk_of(client: TestClient) -> Desk:
    return DESKS[id(client)]


Fields = dict[str, str] | list[tuple[str, str]]


def submit(client: TestClient, ref: str, action: str, fields: Fields, status: int = 303) -> str:
    desk_of(client).project()
    page = client.get(f"/console/requests/{ref}")
    token = csrf_of(page.text)
    data: dict[str, list[str]] = {"csrf_token": [token]}
    for name, value in (fields.items() if isinstance(fields, dict) else fields):
        data.setdefault(name, []).append(value)
    r = client.post(f"/console/requests/{ref}/field/{action}", data=data,
                    follow_redirects=False)
    assert r.status_code == status, r.text[:3000]
    return r.text


def test_the_panel_walks_a_job_to_the_signed_report(desk: Desk) -> None:
    ref = desk.open()
    agent, engineer = browser(desk, AGENT), browser(desk, ENGINEER)
    page = agent.get(f"/console/requests/{ref}").text
    assert 'data-action="field-intake"' in page
    submit(agent, ref, "intake", {"symptom": "无法开机", "warranty": "unknown",
                                  "mode": "on_site", "level": ""})
    page = agent.get(f"/console/requests/{ref}").text
    assert 'data-action="field-dispatch"' in page and 'data-kind="intake"' in page
    assert 'data-action="field-accept"' not in page  # not the agent's to accept
    submit(agent, ref, "dispatch", {"engineer": ENGINEER, "appointment_at": "2026-12-07T09:00",
                                    "distance_km": "12"})
    assert 'data-action="field-accept"' in engineer.get(f"/console/requests/{ref}").text
    refused = submit(browser(desk, ENGINEER2), ref, "accept", {}, 403)
    assert "not to you" in refused
    submit(engineer, ref, "accept", {})
    submit(engineer, ref, "visit_start", {})
    page = submit(engineer, ref, "report", {"cause": "x", "actions": "y", "minutes": "5",
                                            "signed_by": "王"}, 422)
    assert "after the visit has ended" in page
    submit(engineer, ref, "visit_end", {"distance_km": "14.5"})
    desk.ok(ADMIN, "/parts/FAN-220V/receive", {"warehouse": "BJ", "qty": 3})
    desk.ok(AGENT, "/parts/FAN-220V/issue",
            {"warehouse": "BJ", "engineer": ENGINEER, "qty": 2, "reference": ref})
    desk.project()
    page = engineer.get(f"/console/requests/{ref}").text
    assert 'data-action="field-report"' in page and 'data-sku="FAN-220V"' in page
    assert "canvas" in page and "/static/signature.js" in page
    submit(engineer, ref, "report", [
        ("cause", "风扇损坏"), ("actions", "更换风扇"), ("minutes", "45"), ("signed_by", "王工"),
        ("part_sku", "FAN-220V"), ("part_warehouse", "BJ"), ("part_qty", "1"),
        ("part_serials", "OLD-1"), ("signature", png())])
    page = engineer.get(f"/console/requests/{ref}").text
    assert 'data-kind="service_report"' in page and 'class="signature-image"' in page
    image = re.search(r'<img class="signature-image" src="([^"]+)"', page)
    assert image, page
    shown = engineer.get(image.group(1))
    assert shown.status_code == 200 and shown.content.startswith(b"\x89PNG")
    assert desk.get(ADMIN, "/parts/FAN-220V")["stock"] == {"BJ": 1}
    # The customer's repair card: stage words, no engineer, no internal text.
    portal = browser(desk, CUSTOMER).get(f"/portal/requests/{ref}").text
    assert 'data-repair-stage="service_report"' in portal
    assert "Service report signed." in portal and ENGINEER not in portal


def test_a_declined_dispatch_stays_internal_and_the_form_says_why_it_refused(desk: Desk) -> None:
    ref = desk.open()
    agent, engineer = browser(desk, AGENT), browser(desk, ENGINEER)
    submit(agent, ref, "intake", {"symptom": "x", "warranty": "in", "mode": "on_site"})
    submit(agent, ref, "dispatch", {"engineer": ENGINEER})
    page = submit(engineer, ref, "decline", {"reason": " "}, 400)
    assert "why you decline" in page
    submit(engineer, ref, "decline", {"reason": "人在外地<script>"})
    page = agent.get(f"/console/requests/{ref}").text
    assert 'data-kind="dispatch_declined"' in page and "人在外地&lt;script&gt;" in page
    portal = browser(desk, CUSTOMER).get(f"/portal/requests/{ref}").text
    assert "人在外地" not in portal and "declined" not in portal.lower()


def test_my_jobs_and_the_parts_page(desk: Desk) -> None:
    ref = desk.open()
    desk.ok(AGENT, f"/service-requests/{ref}/intake",
            {"symptom": "x", "warranty": "in", "mode": "carry_in"}, 201)
    desk.ok(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": ENGINEER})
    desk.project()
    jobs = browser(desk, ENGINEER).get("/console/field-jobs").text
    assert f'data-reference="{ref}"' in jobs and 'data-stage="dispatched"' in jobs
    assert browser(desk, ENGINEER).get("/console/parts").status_code == 403
    admin = browser(desk, ADMIN)
    page = admin.get("/console/parts").text
    assert 'data-action="parts-receive"' in page
    token = csrf_of(page)
    r = admin.post("/console/parts/receive", data={"sku": "cap-1", "warehouse": "sh",
                                                    "qty": "4", "csrf_token": token},
                   follow_redirects=False)
    assert r.status_code == 303
    r = admin.post("/console/parts/issue", data={
        "sku": "CAP-1", "warehouse": "SH", "engineer": ENGINEER, "qty": "9", "reference": ref,
        "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 422 and "only 4 of CAP-1 in SH" in r.text
    page = admin.get("/console/parts").text
    assert 'data-sku="CAP-1"' in page and '<td data-warehouse="SH">4</td>' in page
    agent_page = browser(desk, AGENT).get("/console/parts").text
    assert 'data-action="parts-issue"' in agent_page
    assert 'data-action="parts-receive"' not in agent_page


def test_a_team_dispatch_shows_in_each_members_jobs(desk: Desk) -> None:
    ref = desk.open()
    desk.ok(AGENT, f"/service-requests/{ref}/intake",
            {"symptom": "x", "warranty": "in", "mode": "on_site"}, 201)
    desk.ok(AGENT, f"/service-requests/{ref}/dispatch", {"engineer": "team:field"})
    member = browser(desk, ENGINEER2)  # a member of team field
    assert f'data-reference="{ref}"' in member.get("/console/field-jobs").text
    assert 'data-action="field-accept"' in member.get(f"/console/requests/{ref}").text
    outsider = browser(desk, ENGINEER)
    assert f'data-reference="{ref}"' not in outsider.get("/console/field-jobs").text
    assert 'data-action="field-accept"' not in outsider.get(f"/console/requests/{ref}").text
    submit(member, ref, "accept", {})
    assert desk.stage(ref) == "accepted"
