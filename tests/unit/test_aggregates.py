"""Aggregate rules, without any store."""

from __future__ import annotations

import pytest

from domain.aggregates.customer import Customer
from domain.aggregates.identity import ChannelIdentity
from domain.aggregates.service_request import ServiceRequest
from domain.errors import AlreadyExists, InvalidTransition
from domain.ids import customer_id, identity_id, request_id


def new_request() -> ServiceRequest:
    return ServiceRequest(
        reference="SR-000001", customer_code="ACME", request_type="support", channel="email",
        subject="s", description="d", priority="normal", product=None, actor="a",
    )


def test_ids_are_derived_from_the_unique_value() -> None:
    customer = Customer(code="ACME", name="Acme", kind="company", classification="standard",
                        actor="a")
    assert customer.id == customer_id("ACME")
    assert new_request().id == request_id("SR-000001")
    identity = ChannelIdentity(kind="phone", value="+8610123", customer_code="ACME", actor="a")
    assert identity.id == identity_id("phone", "+86 10-123")


def test_a_refused_command_leaves_no_pending_event() -> None:
    request = new_request()
    request.resolve("done", actor="a")
    pending = len(request.collect_events())
    with pytest.raises(InvalidTransition):
        request.escalate("late", actor="a")
    assert request.collect_events() == [] and pending == 2


def test_reconstructed_request_equals_the_original() -> None:
    request = new_request()
    request.assign("agent@x", actor="m")
    request.escalate("hard", actor="agent@x")
    events = request.collect_events()
    copy = None
    for e in events:
        copy = e.mutate(copy)
    assert copy is not None
    assert (copy.status, copy.assignee, copy.escalation_level) == ("escalated", "agent@x", 1)


def test_identity_claimed_by_someone_else_is_refused() -> None:
    identity = ChannelIdentity(kind="email", value="a@x", customer_code="ACME", actor="a")
    identity.claim("ACME", actor="a")  # the same owner again changes nothing
    with pytest.raises(AlreadyExists):
        identity.claim("BETA", actor="a")
    identity.release(actor="a")
    identity.claim("BETA", actor="a")
    assert identity.customer_code == "BETA"


def test_an_installed_product_replays_to_the_same_state() -> None:
    from eventsourcing.application import Application

    from domain.aggregates.installed_product import InstalledProduct
    from domain.ids import product_id

    unit = InstalledProduct.register(serial="mx-9", model="MX-9", customer_code="ACME",
                                     actor="a", configuration={"trays": 2})
    assert unit.id == product_id("MX-9")
    unit.change_details({"configuration": {"trays": 3}}, actor="a")
    unit.change_status("faulty", actor="a", reason="noise")
    with pytest.raises(InvalidTransition):
        unit.transfer("ACME", actor="a")
    app: Application[object] = Application()
    app.save(unit)
    copy = app.repository.get(unit.id)
    assert (copy.details, copy.status, copy.customer_code) == (
        {**unit.details, "configuration": {"trays": 3}}, "faulty", "ACME")
