"""Every field of every event is declared personal or plain, so that a new
event or field cannot store a person's data in clear by being forgotten."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from eventsourcing.domain import Aggregate

import domain.aggregates
from domain.personal import ERASED, PersonalData, erase_values, redacted, shape
from domain.sealing import event_fields


def all_aggregates() -> list[type[Aggregate]]:
    found = []
    for module_info in pkgutil.iter_modules(domain.aggregates.__path__):
        module = importlib.import_module(f"domain.aggregates.{module_info.name}")
        found += [
            cls for cls in vars(module).values()
            if inspect.isclass(cls) and issubclass(cls, Aggregate)
            and cls is not Aggregate and cls.__module__ == module.__name__
        ]
    return found


def recorded_events(aggregate: type[Aggregate]) -> list[type]:
    return [
        cls for name, cls in vars(aggregate).items()
        if inspect.isclass(cls) and issubclass(cls, Aggregate.Event) and name != "Event"
        and event_fields(cls)
    ]


AGGREGATES = all_aggregates()


def test_the_aggregates_are_found() -> None:
    names = {a.__name__ for a in AGGREGATES}
    assert {"Customer", "ServiceRequest", "ChannelIdentity", "User"} <= names


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda a: a.__name__)
def test_every_event_field_is_declared_personal_or_plain(aggregate: type[Aggregate]) -> None:
    declared = aggregate.__dict__.get("personal_data")
    assert isinstance(declared, PersonalData), f"{aggregate.__name__} declares no personal_data"
    for event_class in recorded_events(aggregate):
        rules = declared.rules_for(event_class.__name__)
        assert rules is not None, f"{aggregate.__name__}.{event_class.__name__} is not declared"
        assert event_fields(event_class) <= set(rules), (
            f"{aggregate.__name__}.{event_class.__name__}: "
            f"{sorted(event_fields(event_class) - set(rules))} undeclared")
        listed = set(rules) - {"actor"}
        assert listed <= event_fields(event_class), (
            f"{aggregate.__name__}.{event_class.__name__}: declares fields it does not have: "
            f"{sorted(listed - event_fields(event_class))}")


def test_the_sealed_shape_keeps_truthiness_lengths_and_keys() -> None:
    value = {"name": "李雷", "flags": [True, None, ""], "n": 3, "kept": "image/png"}
    sealed = shape(value, frozenset({"kept"}))
    assert sealed == {"name": "[sealed]", "flags": [True, None, ""], "n": "[sealed]",
                      "kept": "image/png"}
    assert redacted(sealed) == erase_values(value, frozenset({"kept"}))
    assert erase_values(erase_values(value)) == erase_values(value)
    assert redacted("email:[sealed]") == "email:" + ERASED
