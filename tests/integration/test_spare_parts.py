"""Spare parts (备件库, issue 16 item 3) through the API on SQLite and PostgreSQL:
receive, issue to an engineer for a request, return unused or faulty with its
label, parts consumed by a service report, stock never negative."""

from __future__ import annotations

import threading
from typing import Any

from tests.integration.test_field_service import (
    ADMIN,
    AGENT,
    ENGINEER,
    ENGINEER2,
    Desk,
    desk,
    on_site,
)

__all__ = ["desk"]  # the fixture, shared


def issue(desk: Desk, ref: str, qty: int, engineer: str = ENGINEER, sku: str = "FAN-220V",
          status: int = 200) -> Any:
    r = desk.post(AGENT, f"/parts/{sku}/issue",
                  {"warehouse": "BJ", "engineer": engineer, "qty": qty, "reference": ref})
    assert r.status_code == status, r.text
    return r.json()


def test_receive_issue_and_return(desk: Desk) -> None:
    ref = desk.open()
    desk.ok(ADMIN, "/parts/FAN-220V/receive", {"warehouse": "BJ", "qty": 4})
    desk.ok(ADMIN, "/parts/fan-220v/receive", {"warehouse": "sh", "qty": 2})
    assert desk.get(ENGINEER, "/parts/FAN-220V")["stock"] == {"BJ": 4, "SH": 2}
    issue(desk, ref, 3)
    refused = issue(desk, ref, 2, status=422)
    assert refused["error"]["message"] == "only 1 of FAN-220V in BJ; cannot issue 2"
    assert desk.get(ADMIN, "/parts/FAN-220V")["stock"] == {"BJ": 1, "SH": 2}
    desk.refused(AGENT, "/parts/FAN-220V/return",
                 {"warehouse": "BJ", "engineer": ENGINEER, "qty": 4, "condition": "unused"},
                 422, "holds 3")
    desk.ok(AGENT, "/parts/FAN-220V/return",
            {"warehouse": "BJ", "engineer": ENGINEER, "qty": 1, "condition": "unused",
             "reference": ref})
    desk.refused(AGENT, "/parts/FAN-220V/return",
                 {"warehouse": "BJ", "engineer": ENGINEER, "qty": 1, "condition": "faulty"},
                 422, "fault label")
    desk.ok(AGENT, "/parts/FAN-220V/return",
            {"warehouse": "BJ", "engineer": ENGINEER, "qty": 1, "condition": "faulty",
             "fault_label": "旧件-风扇异响 SR 返修"})
    part = desk.get(ADMIN, "/parts/FAN-220V")
    assert part["stock"] == {"BJ": 2, "SH": 2} and part["faulty"] == {"BJ": 1}
    assert part["held"] == [{"engineer": ENGINEER, "reference": ref, "qty": 2}]
    listed = desk.get(ADMIN, "/parts")["items"]
    assert listed == [{"sku": "FAN-220V", "stock": {"BJ": 2, "SH": 2}, "faulty": {"BJ": 1},
                       "held": 2}]


def test_who_manages_the_stock(desk: Desk) -> None:
    ref = desk.open()
    for who in (AGENT, ENGINEER):
        r = desk.post(who, "/parts/FAN-220V/receive", {"warehouse": "BJ", "qty": 4})
        assert r.status_code == 403, r.text
    desk.ok(ADMIN, "/parts/FAN-220V/receive", {"warehouse": "BJ", "qty": 4})
    r = desk.post(ENGINEER, "/parts/FAN-220V/issue",
                  {"warehouse": "BJ", "engineer": ENGINEER, "qty": 1, "reference": ref})
    assert r.status_code == 403
    assert issue(desk, ref, 1, engineer=AGENT, status=422)["error"]["message"] == \
        f"{AGENT} is not an active engineer"
    assert issue(desk, "SR-999999", 1, status=404)
    assert issue(desk, ref, 1, sku="NO-SUCH", status=404)
    desk.refused(ADMIN, "/parts/FAN-220V/receive", {"warehouse": "BJ", "qty": 0}, 400, "qty")
    desk.refused(ADMIN, "/parts/FAN-220V/receive", {"warehouse": "B J", "qty": 1}, 400,
                 "warehouse")
    r = desk.api(ADMIN).get("/api/v1/parts/NO-SUCH")
    assert r.status_code == 404


def test_the_report_consumes_only_what_was_issued_for_the_request(desk: Desk) -> None:
    ref, other = desk.open(), desk.open()
    desk.ok(ADMIN, "/parts/FAN-220V/receive", {"warehouse": "BJ", "qty": 5})
    desk.ok(ADMIN, "/parts/CAP-470UF/receive", {"warehouse": "BJ", "qty": 5})
    on_site(desk, ref)
    job = f"/service-requests/{ref}"
    desk.ok(ENGINEER, f"{job}/dispatch/accept")
    desk.ok(ENGINEER, f"{job}/visit/start")
    desk.ok(ENGINEER, f"{job}/visit/end")
    issue(desk, ref, 1)
    issue(desk, other, 2)  # for another request: not usable here
    issue(desk, ref, 1, engineer=ENGINEER2)  # another engineer's
    report = {"cause": "风扇损坏", "actions": "更换", "minutes": 30, "signed_by": "王工"}
    desk.refused(ENGINEER, f"{job}/service-report",
                 {**report, "parts": [{"sku": "FAN-220V", "warehouse": "BJ", "qty": 2}]},
                 422, f"was issued 1 of FAN-220V for {ref}")
    desk.refused(ENGINEER, f"{job}/service-report",
                 {**report, "parts": [{"sku": "FAN-220V", "warehouse": "BJ", "qty": 1},
                                      {"sku": "CAP-470UF", "warehouse": "BJ", "qty": 1}]},
                 422, "was issued 0 of CAP-470UF")
    desk.refused(ENGINEER, f"{job}/service-report",
                 {**report, "parts": [{"sku": "NEVER", "warehouse": "BJ", "qty": 1}]},
                 422, "never issued")
    desk.refused(ENGINEER, f"{job}/service-report",
                 {**report, "parts": [{"sku": "FAN-220V", "warehouse": "BJ", "qty": 1,
                                       "faulty_serials": ["A", "B"]}]}, 422, "faulty serials")
    desk.refused(ENGINEER, f"{job}/service-report",
                 {**report, "parts": [{"sku": "FAN-220V", "warehouse": "BJ", "qty": 1,
                                       "colour": "red"}]}, 400, "colour")
    # Refused reports consumed nothing and recorded nothing.
    assert desk.get(ADMIN, "/parts/FAN-220V")["held"] == [  # eng2@ sorts before eng@
        {"engineer": ENGINEER2, "reference": ref, "qty": 1},
        {"engineer": ENGINEER, "reference": ref, "qty": 1},
        {"engineer": ENGINEER, "reference": other, "qty": 2}]
    assert desk.stage(ref) == "visited"
    desk.ok(ENGINEER, f"{job}/service-report",
            {**report, "parts": [{"sku": "FAN-220V", "warehouse": "BJ", "qty": 1,
                                  "faulty_serials": ["FAN-OLD-1"]}]}, 201)
    part = desk.get(ADMIN, "/parts/FAN-220V")
    assert part["stock"] == {"BJ": 1}
    assert part["held"] == [{"engineer": ENGINEER2, "reference": ref, "qty": 1},
                            {"engineer": ENGINEER, "reference": other, "qty": 2}]


def test_two_issues_of_the_last_part_at_once_never_go_negative(desk: Desk) -> None:
    ref = desk.open()
    desk.ok(ADMIN, "/parts/FAN-220V/receive", {"warehouse": "BJ", "qty": 1})
    start = threading.Barrier(2)
    statuses: list[int] = []

    def send(engineer: str) -> None:
        client = desk.api(AGENT) if engineer == ENGINEER else desk.api(ADMIN)
        start.wait()
        statuses.append(client.post("/api/v1/parts/FAN-220V/issue", json={
            "warehouse": "BJ", "engineer": engineer, "qty": 1, "reference": ref}).status_code)

    desk.api(AGENT), desk.api(ADMIN)
    threads = [threading.Thread(target=send, args=(e,)) for e in (ENGINEER, ENGINEER2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 422]
    part = desk.get(ADMIN, "/parts/FAN-220V")
    assert part["stock"] == {"BJ": 0} and len(part["held"]) == 1
