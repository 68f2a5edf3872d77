"""Issue 16's gap 2: the portal's "Your repair" card shows from the intake (the
mode and the warranty as checked) and, for carry-in and mail-in, the unit's
received / repaired / returned stages with the courier's tracking number;
never the symptom as the agent typed it, internal notes, the engineer or a
decline's reason.  On SQLite and PostgreSQL."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from domain.requests.commands import AddNote, OpenRequest
from tests.integration.test_console import sign_in
from tests.integration.test_settlement import (
    AGENT,
    CUSTOMER,
    E1,
    E2,
    SERIAL,
    Desk,
    desk,  # noqa: F401  (the fixture)
)


def _card(html: str) -> str:
    found = re.search(r'<section class="card repair".*?</section>', html, re.S)
    assert found, "no repair card"
    return found.group(0)


def test_the_repair_card_shows_from_intake_to_the_unit_back(desk: Desk) -> None:  # noqa: F811
    ref = str(desk.app.handle(OpenRequest("ACME", "repair", "UPS 不启动", actor=AGENT,
                                          product=SERIAL)))
    job = f"/service-requests/{ref}"
    portal = TestClient(desk.asgi, headers={"Accept-Language": "en"})
    sign_in(portal, CUSTOMER)
    desk.project()
    assert 'class="card repair"' not in portal.get(f"/portal/requests/{ref}").text

    desk.post(AGENT, f"{job}/intake", {"symptom": "内部记录：客户摔过机器", "warranty": "in",
                                       "mode": "mail_in"})
    desk.app.handle(AddNote(ref, "internal: customer is difficult", actor=AGENT))
    desk.project()
    card = _card(portal.get(f"/portal/requests/{ref}").text)
    assert ('data-repair-stage="intake"' in card and "Mail-in" in card) or "mail" in card.lower()
    assert "in warranty" in card.lower() or "Warranty" in card
    assert 'data-unit-stage="received" class="todo"' in card

    desk.post(AGENT, f"{job}/dispatch", {"engineer": E2})
    desk.post(E2, f"{job}/dispatch/decline", {"reason": "too far from my area"})
    desk.post(AGENT, f"{job}/dispatch", {"engineer": E1})
    desk.post(E1, f"{job}/dispatch/accept", {})
    desk.post(E1, f"{job}/unit/received", {"tracking_number": "SF1001", "carrier": "SF"})
    desk.post(E1, f"{job}/unit/repaired", {})
    desk.post(E1, f"{job}/service-report", {"cause": "fuse", "actions": "replaced fuse",
                                            "minutes": 30, "signed_by": "李伟"})
    desk.post(AGENT, f"{job}/unit/returned", {"tracking_number": "SF2002", "carrier": "SF"})
    desk.project()
    page = portal.get(f"/portal/requests/{ref}").text
    card = _card(page)
    for stage in ("received", "repaired", "returned"):
        assert f'data-unit-stage="{stage}" class="done"' in card
    assert "SF1001" in card and "SF2002" in card
    for secret in ("客户摔过机器", "customer is difficult", "too far from my area", E1, E2,
                   "fuse"):
        assert secret not in page


def test_a_phone_answer_shows_as_solved(desk: Desk) -> None:  # noqa: F811
    ref = str(desk.app.handle(OpenRequest("ACME", "repair", "怎么换硒鼓", actor=AGENT)))
    desk.post(AGENT, f"/service-requests/{ref}/intake", {"symptom": "toner", "warranty": "out",
                                                         "mode": "phone"})
    desk.post(AGENT, f"/service-requests/{ref}/phone-resolution",
              {"summary": "internal summary text", "minutes": 5}, 201)
    desk.project()
    portal = TestClient(desk.asgi, headers={"Accept-Language": "en"})
    sign_in(portal, CUSTOMER)
    page = portal.get(f"/portal/requests/{ref}").text
    card = _card(page)
    assert 'data-repair-stage="phone_resolution"' in card and "unit-stages" not in card
    assert "internal summary text" not in page and AGENT not in page
