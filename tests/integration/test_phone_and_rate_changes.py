"""Issue 16's gaps 3 and 4, through the API on SQLite and PostgreSQL: a phone
answer (电话解决) is completed with `POST …/phone-resolution` and counted in the
wage settlement at the phone rate; and rates carry an effective-from date, so a
period spanning a rate change prices each job with the rates of its day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from eventsourcing.domain import DomainEvent
from starlette.testclient import TestClient

from domain.application import Ledgerdesk
from domain.clock import ManualClock
from domain.requests.commands import OpenRequest
from ledgerdesk.config import Database
from ledgerdesk.settlement_config import SettlementConfigError, settlement_rates
from tests.integration.test_console import csrf_of, sign_in
from tests.integration.test_settlement import (
    AGENT,
    CUSTOMER,
    E1,
    E2,
    MANAGER,
    SERIAL,
    Desk,
    _people,
    desk,  # noqa: F401  (the fixture)
)


def _phone_job(d: Desk) -> str:
    ref = str(d.app.handle(OpenRequest("ACME", "repair", "不能开机", actor=AGENT,
                                       product=SERIAL)))
    d.post(AGENT, f"/service-requests/{ref}/intake", {"symptom": "no power",
                                                       "warranty": "in", "mode": "phone"})
    return ref


def test_a_phone_answer_is_completed_and_paid_at_the_phone_rate(desk: Desk) -> None:  # noqa: F811
    ref = _phone_job(desk)
    path = f"/service-requests/{ref}/phone-resolution"
    # Bad input: clear errors naming the field, nothing recorded.
    r = desk.api(E1).post(f"/api/v1{path}", json={"summary": " ", "minutes": 10})
    assert r.status_code == 400 and "summary" in r.json()["error"]["fields"]
    r = desk.api(E1).post(f"/api/v1{path}", json={"summary": "reset", "minutes": 0})
    assert r.status_code == 400 and "minutes" in r.json()["error"]["fields"]
    assert desk.api(CUSTOMER).post(f"/api/v1{path}", json={
        "summary": "x", "minutes": 5}).status_code == 403
    assert desk.post(E1, path, {"summary": "walked the customer through a reset",
                                "minutes": 15}, 201) == {"reference": ref, "stage": "resolved"}
    # Once only.
    again = desk.api(AGENT).post(f"/api/v1{path}", json={"summary": "again", "minutes": 5})
    assert again.status_code == 422 and "already" in again.json()["error"]["message"]
    # The console: the request page offers the form while the answer is not recorded;
    # a bad minutes is named and what was typed is kept.
    browser = TestClient(desk.asgi, headers={"Accept-Language": "en"})
    sign_in(browser, E2)
    second = _phone_job(desk)
    desk.project()
    page = browser.get(f"/console/requests/{second}").text
    assert 'data-action="field-phone-resolution"' in page
    form = f"/console/requests/{second}/field/phone_resolution"
    bad = browser.post(form, data={"csrf_token": csrf_of(page), "summary": "换了硒鼓芯片",
                                   "minutes": "lots"}, follow_redirects=False)
    assert bad.status_code == 400 and 'data-error="field_phone_resolution"' in bad.text
    assert "换了硒鼓芯片" in bad.text
    ok = browser.post(form, data={"csrf_token": csrf_of(page), "summary": "换了硒鼓芯片",
                                  "minutes": "7"}, follow_redirects=False)
    assert ok.status_code == 303
    desk.project()
    page = browser.get(f"/console/requests/{second}").text
    assert 'data-action="field-phone-resolution"' not in page
    assert 'data-kind="phone_resolution"' in page and "换了硒鼓芯片" in page
    # An agent may answer too; a job of another mode is refused.
    desk.post(AGENT, f"/service-requests/{_phone_job(desk)}/phone-resolution",
              {"summary": "told them the toner code", "minutes": 5}, 201)
    onsite = str(desk.app.handle(OpenRequest("ACME", "repair", "异响", actor=AGENT,
                                             product=SERIAL)))
    desk.post(AGENT, f"/service-requests/{onsite}/intake", {"symptom": "noise",
                                                            "warranty": "in",
                                                            "mode": "on_site"})
    refused = desk.api(E1).post(f"/api/v1/service-requests/{onsite}/phone-resolution",
                                json={"summary": "x", "minutes": 5})
    assert refused.status_code == 422 and "not a phone answer" in refused.text
    desk.project()

    report = desk.api(MANAGER).get("/api/v1/reports/settlement").json()
    assert report["engineers"] == [
        {"engineer": AGENT, "jobs": 1, "minutes": 5, "amount": "20", "by_mode": {"phone": 1}},
        {"engineer": E1, "jobs": 1, "minutes": 15, "amount": "20", "by_mode": {"phone": 1}},
        {"engineer": E2, "jobs": 1, "minutes": 7, "amount": "20", "by_mode": {"phone": 1}}]
    job = desk.api(AGENT).get(f"/api/v1/service-requests/{ref}/field-job").json()
    assert job["stage"] == "resolved" and job["engineer"] == E1
    kinds = [e["kind"] for e in desk.api(AGENT).get(
        f"/api/v1/service-requests/{ref}").json()["timeline"]]
    assert "phone_resolution" in kinds


def test_a_period_spanning_a_rate_change_uses_each_days_rates(
        app: Ledgerdesk, store: Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _people(app)
    rates = settlement_rates({"rates": {"on_site": [{"amount": 80}], "phone": [{"amount": 20}]},
                              "changes": [{"from": "2026-07-01",
                                           "rates": {"on_site": [{"amount": 100}]}}]})
    clock = ManualClock(datetime(2026, 6, 30, 10, tzinfo=UTC))
    app.store.clock = clock
    # events are stamped by the clock (as in test_reports), so jobs complete on set days
    monkeypatch.setattr(DomainEvent, "create_timestamp", staticmethod(clock.now))
    d = Desk(app, store, tmp_path, rates)
    try:
        d.job(E1, "on_site", 10, 30)                     # 30 June: the old rate, 80
        ref = _phone_job(d)
        d.post(E2, f"/service-requests/{ref}/phone-resolution", {"summary": "ok",
                                                                  "minutes": 5})
        clock.current = datetime(2026, 7, 1, 9, tzinfo=UTC)
        d.job(E1, "on_site", 10, 30)                     # 1 July: the new rate, 100
        ref = _phone_job(d)                               # phone unchanged: 20
        d.post(E2, f"/service-requests/{ref}/phone-resolution", {"summary": "ok",
                                                                  "minutes": 5})
        d.project()
        report = d.api(MANAGER).get(
            "/api/v1/reports/settlement?from=2026-06-01&to=2026-07-31").json()
        assert [(j["engineer"], j["completed_at"][:10], j["amount"]) for j in report["jobs"]
                ] == [(E1, "2026-06-30", "80"), (E2, "2026-06-30", "20"),
                      (E1, "2026-07-01", "100"), (E2, "2026-07-01", "20")]
        assert report["totals"]["amount"] == "220"
    finally:
        d.models.close()


def test_rate_changes_are_checked_and_the_old_shape_stays_valid() -> None:
    always = settlement_rates({"rates": {"on_site": [{"amount": 70}]}})
    assert always.changes == () and always.amount("on_site", 5) == Decimal(70)
    rates = settlement_rates({"changes": [
        {"from": date(2027, 1, 1), "rates": {"carry_in": [{"amount": 90}]}},
        {"from": date(2026, 1, 1), "rates": {"carry_in": [{"amount": 70}]}}]})
    assert [rates.amount("carry_in", None, date(y, 6, 1)) for y in (2025, 2026, 2027)] == [
        Decimal(60), Decimal(70), Decimal(90)]
    for section, key in (
            ({"changes": {"from": "2026-01-01"}}, "settlement.changes"),
            ({"changes": [{"from": "soon", "rates": {}}]}, r"settlement.changes\[0\].from"),
            ({"changes": [{"rates": {}}]}, r"settlement.changes\[0\].from"),
            ({"changes": [{"from": "2026-01-01", "rates": {"fly": [{"amount": 1}]}}]},
             r"settlement.changes\[0\].rates.fly"),
            ({"changes": [{"from": "2026-01-01"}, {"from": "2026-01-01"}]},
             r"settlement.changes\[1\].from")):
        with pytest.raises(SettlementConfigError, match=key):
            settlement_rates(section)
