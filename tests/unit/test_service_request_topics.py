"""ServiceRequest's events are stored under their topics: what the helpers moved
out of its module (domain.aggregates.service_request_rules) must not move them."""

from __future__ import annotations

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, resolve_topic

from domain.aggregates.service_request import ServiceRequest

STORED_PREFIX = "domain.aggregates.service_request:ServiceRequest."


def test_every_event_keeps_its_stored_topic() -> None:
    events = {name: value for name, value in vars(ServiceRequest).items()
              if isinstance(value, type) and issubclass(value, Aggregate.Event)}
    assert {"Opened", "MessageReceived", "StatusChanged", "SlaBreached"} <= set(events)
    for name, cls in events.items():
        assert get_topic(cls) == STORED_PREFIX + name
        assert resolve_topic(STORED_PREFIX + name) is cls
