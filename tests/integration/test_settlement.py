"""The engineers' wage settlement (服务工资结算, issue 16 item 6) and the part
replacements in the unit's history (item 3), through the API on SQLite and
PostgreSQL: jobs done the field service's way (intake, dispatch, visit, signed
report), the totals checked against the ReportFiled events that produced them,
configurable rates, the CSV for payroll, and the parts on the unit."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.aggregates.field_job import field_job_id
from domain.application import Ledgerdesk
from domain.customers.commands import RegisterCustomer
from domain.installed_base.commands import RegisterProduct
from domain.requests.commands import OpenRequest
from domain.settlement.rates import Band, SettlementRates
from domain.users.commands import AddUser
from ledgerdesk.config import Database
from ledgerdesk.settlement_config import SettlementConfigError, settlement_rates
from tests.support.desks import PASSWORD, WebDesk, desk_settings, sign_in

AGENT, E1, E2, MANAGER, ADMIN, AUDITOR = ("a@desk.cn", "e1@desk.cn", "e2@desk.cn",
                                          "boss@desk.cn", "root@desk.cn", "audit@desk.cn")
CUSTOMER = "li@acme.cn"
SERIAL = "MX3000-2024-00817"


class Desk(WebDesk):
    cache_clients = True

    def __init__(self, app: Ledgerdesk, store: Database, tmp_path: Path,
                 rates: SettlementRates | None = None) -> None:
        settings = desk_settings(store, tmp_path)
        if rates is not None:
            settings = replace(settings, settlement=rates)
        super().__init__(app, settings)

    def post(self, email: str, path: str, body: dict[str, Any], status: int = 200) -> Any:
        r = self.api(email).post(f"/api/v1{path}", json=body)
        assert r.status_code in (status, 201, 202) if status == 200 else r.status_code == status, (
            path, r.status_code, r.text)
        return r.json()

    def job(self, engineer: str, mode: str = "on_site", distance: float | None = None,
            minutes: int = 60, parts: list[dict[str, Any]] | None = None) -> str:
        """A request worked to its signed service report, through the API."""
        ref = str(self.app.handle(OpenRequest("ACME", "repair", "电机异响", actor=AGENT,
                                              product=SERIAL)))
        job = f"/service-requests/{ref}"
        self.post(AGENT, f"{job}/intake", {"symptom": "noise", "warranty": "unknown",
                                           "mode": mode})
        self.post(AGENT, f"{job}/dispatch", {"engineer": engineer, "distance_km": distance})
        self.post(engineer, f"{job}/dispatch/accept", {})
        for part in parts or []:
            self.post(AGENT, f"/parts/{part['sku']}/issue", {
                "warehouse": part["warehouse"], "engineer": engineer, "qty": part["qty"],
                "reference": ref})
        self.work(ref, engineer, mode, minutes, parts)
        return ref

    def work(self, ref: str, engineer: str, mode: str, minutes: int,
             parts: list[dict[str, Any]] | None = None) -> None:
        job = f"/service-requests/{ref}"
        if mode in ("on_site", "paid"):
            self.post(engineer, f"{job}/visit/start", {})
            self.post(engineer, f"{job}/visit/end", {})
        else:
            self.post(engineer, f"{job}/unit/received", {"tracking_number": "SF1234567",
                                                         "carrier": "SF"})
        self.post(engineer, f"{job}/service-report", {
            "cause": "bearing worn", "actions": "replaced bearing", "minutes": minutes,
            "signed_by": "李伟", "parts": parts or []})


def _people(app: Ledgerdesk) -> None:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    app.handle(RegisterProduct(SERIAL, "MX-3000", "ACME", actor="setup"))
    for email, roles in ((AGENT, ["agent"]), (E1, ["engineer"]), (E2, ["engineer"]),
                         (MANAGER, ["manager"]), (ADMIN, ["admin"]), (AUDITOR, ["auditor"])):
        app.handle(AddUser(email, roles, actor="setup", password=PASSWORD))
    app.handle(AddUser(CUSTOMER, ["customer_admin"], actor="setup", password=PASSWORD,
                       customer_code="ACME"))


@pytest.fixture
def desk(app: Ledgerdesk, store: Database, tmp_path: Path) -> Iterator[Desk]:
    _people(app)
    d = Desk(app, store, tmp_path)
    yield d
    d.models.close()


def reports_filed(app: Ledgerdesk, references: list[str]) -> list[Any]:
    return [e for ref in references for e in app.store.events(field_job_id(ref))
            if type(e).__name__ == "ReportFiled"]


def test_settlement_totals_match_the_events_that_produced_them(desk: Desk) -> None:
    desk.post(ADMIN, "/parts/BRG-6204/receive", {"warehouse": "BJ", "qty": 5})
    refs = [
        desk.job(E1, "on_site", 12, 90),                      # 0–30 km: 80
        desk.job(E1, "on_site", 45, 120,                      # 30–100 km: 150
                 parts=[{"sku": "BRG-6204", "warehouse": "BJ", "qty": 2,
                         "faulty_serials": ["B-OLD-1", "B-OLD-2"]}]),
        desk.job(E2, "carry_in", None, 30),                   # flat: 60
        desk.job(E2, "on_site", 150, 200),                    # ≥ 100 km: 250
    ]
    # An unfinished repair: a second visit, reported again (a second completed job).
    desk.post(E2, f"/service-requests/{refs[3]}/second-visit", {"reason": "part on order"})
    desk.work(refs[3], E2, "on_site", 45)
    desk.project()

    events = reports_filed(desk.app, refs)
    assert len(events) == 5
    rates = SettlementRates()
    expected: dict[str, dict[str, Any]] = {}
    for e in events:
        row = expected.setdefault(e.engineer, {"jobs": 0, "minutes": 0, "amount": Decimal(0)})
        row["jobs"] += 1
        row["minutes"] += e.minutes
        row["amount"] += rates.amount(e.mode, e.distance_km)

    report = desk.api(MANAGER).get("/api/v1/reports/settlement").json()
    got = {e["engineer"]: {"jobs": e["jobs"], "minutes": e["minutes"],
                           "amount": Decimal(e["amount"])} for e in report["engineers"]}
    assert got == expected
    # And by hand, from the rate card: the defaults of seed 002's example.
    assert got[E1] == {"jobs": 2, "minutes": 210, "amount": Decimal(230)}
    assert got[E2] == {"jobs": 3, "minutes": 275, "amount": Decimal(560)}
    assert report["currency"] == "CNY"
    assert report["totals"] == {"jobs": 5, "minutes": 485, "amount": "790"}
    assert [(j["reference"], j["visit"], j["band"], j["amount"]) for j in report["jobs"]] == [
        (refs[0], 1, "0–30 km", "80"), (refs[1], 1, "30–100 km", "150"),
        (refs[2], 1, "", "60"), (refs[3], 1, "≥ 100 km", "250"),
        (refs[3], 2, "≥ 100 km", "250")]

    # A period without those jobs is empty; a malformed date is a 400 naming it.
    later = desk.api(MANAGER).get("/api/v1/reports/settlement?from=2999-01-01").json()
    assert later["engineers"] == [] and later["totals"]["amount"] == "0"
    bad = desk.api(MANAGER).get("/api/v1/reports/settlement?from=yesterday")
    assert bad.status_code == 400 and "from" in bad.json()["error"]["fields"]
    # Payroll data: managers, admins and auditors; not agents, engineers or customers.
    assert desk.api(AUDITOR).get("/api/v1/reports/settlement").status_code == 200
    for who in (AGENT, E1, CUSTOMER):
        assert desk.api(who).get("/api/v1/reports/settlement").status_code == 403

    # The console's page and its CSV say the same.
    browser = TestClient(desk.asgi, headers={"Accept-Language": "en"})
    sign_in(browser, MANAGER)
    page = browser.get("/console/settlement")
    assert page.status_code == 200 and 'data-total="amount">790<' in page.text
    exported = browser.get("/console/settlement.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0] == ["engineer", "completed_jobs", "minutes", "amount_CNY"]
    assert rows[1:4] == [[E1, "2", "210", "230"], [E2, "3", "275", "560"],
                         ["total", "5", "485", "790"]]
    assert len([r for r in rows if r and r[1].startswith("SR-")]) == 5

    # The parts replaced show in the unit's history: GET /products, the 360, the portal.
    product = desk.api(AGENT).get(f"/api/v1/products/{SERIAL}").json()
    assert [(p["reference"], p["sku"], p["qty"], p["faulty_serials"], p["engineer"])
            for p in product["parts"]] == [(refs[1], "BRG-6204", 2, ["B-OLD-1", "B-OLD-2"], E1)]
    assert refs[1] in product["requests"]
    c360 = desk.api(AGENT).get("/api/v1/customers/ACME/360").json()
    assert c360["installed_products"][0]["parts"][0]["faulty_serials"] == ["B-OLD-1",
                                                                           "B-OLD-2"]
    mine = desk.api(CUSTOMER).get(f"/api/v1/products/{SERIAL}").json()
    assert mine["parts"][0]["sku"] == "BRG-6204" and "engineer" not in mine["parts"][0]
    portal = TestClient(desk.asgi, headers={"Accept-Language": "en"})
    sign_in(portal, CUSTOMER)
    products_page = portal.get("/portal/products").text
    assert "BRG-6204" in products_page and "B-OLD-2" in products_page
    assert desk.api(AGENT).get("/api/v1/products/NOPE-0001").status_code == 404


def test_rates_come_from_the_configuration(app: Ledgerdesk, store: Database,
                                           tmp_path: Path) -> None:
    _people(app)
    rates = settlement_rates({"currency": "cny", "rates": {
        "on_site": [{"upto_km": 50, "amount": 100}, {"amount": 200.5}]}})
    assert rates.currency == "CNY" and rates.amount("carry_in", None) == Decimal(60)
    desk = Desk(app, store, tmp_path, rates)
    try:
        desk.job(E1, "on_site", 49, 30)
        desk.job(E1, "on_site", 51, 30)
        desk.project()
        report = desk.api(ADMIN).get("/api/v1/reports/settlement").json()
        assert report["engineers"] == [{"engineer": E1, "jobs": 2, "minutes": 60,
                                        "amount": "300.5", "by_mode": {"on_site": 2}}]
    finally:
        desk.models.close()


@pytest.mark.parametrize("section, key", [
    ({"rates": {"flying": [{"amount": 1}]}}, "settlement.rates.flying"),
    ({"rates": {"on_site": []}}, "settlement.rates.on_site"),
    ({"rates": {"on_site": [{"amount": "lots"}]}}, "settlement.rates.on_site[0].amount"),
    ({"rates": {"on_site": [{"amount": -1}]}}, "settlement.rates.on_site[0].amount"),
    ({"rates": {"on_site": [{"upto_km": 50, "amount": 1}, {"upto_km": 20, "amount": 2}]}},
     "settlement.rates.on_site[1]"),
    ({"rates": {"on_site": [{"amount": 1}, {"upto_km": 20, "amount": 2}]}},
     "settlement.rates.on_site[1]"),
    ({"currency": ""}, "settlement.currency"),
    ({"bonus": 1}, "unknown keys bonus"),
])
def test_a_wrong_rate_card_is_refused_naming_the_key(section: dict[str, Any], key: str) -> None:
    with pytest.raises(SettlementConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        settlement_rates(section)


def test_bands_are_chosen_by_distance() -> None:
    rates = SettlementRates(rates={"on_site": (Band(30, Decimal(80)), Band(100, Decimal(150)),
                                               Band(None, Decimal(250)))})
    assert [rates.amount("on_site", d) for d in (None, 0, 30, 30.1, 100, 100.5)] == [
        Decimal(v) for v in (80, 80, 80, 150, 150, 250)]
    assert rates.amount("phone", None) == Decimal(0)  # a mode without rates pays nothing
