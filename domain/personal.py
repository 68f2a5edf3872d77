"""Which fields of which events are a person's data.

Every aggregate declares, for every event it records, which fields are
personal and which are plain (`PersonalData`), and who the person is (`owner`:
a customer code, or None for staff and desk knowledge).  The event store's
mapper (domain.sealing) encrypts the personal fields with the owner's key; a
test walks every event class and fails when a field is in neither list, so a
new field cannot be forgotten.

Sealing keeps a value's *shape* in clear: in a personal field, `None`, booleans
and empty strings stay as they are, dict keys and list lengths stay, and every
other leaf becomes `SEALED` (after erasure, `ERASED`).  Replays, upcasters,
policies and rebuilt read models therefore take the same branches before and
after erasure ("3 attachments, each [erased]"), and a read model can redact a
value it copied from an event with `erase_values`, which gives what a rebuild
from the erased events gives.

Personal: names, addresses, numbers, email addresses, chat ids, message text,
subjects, notes, internal reasons (agents paste customers' details into them),
attachment references, and an inbound actor such as `email:li@acme.cn`.
Plain: codes, references, serials, models, statuses, times, staff actors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

SEALED = "[sealed]"
ERASED = "[erased]"

# An actor that is a customer writing on a channel ("email:li@acme.cn"); staff
# actors are user emails or "system" and stay readable, so the audit trail can
# still say what an agent did after a customer's erasure.
CHANNEL_ACTOR_PREFIXES = ("email:", "fax:", "telegram:", "phone:", "web:", "chat:")


@dataclass(frozen=True)
class Rule:
    """How one personal field is sealed.  `keep`: dict keys whose values stay in
    clear at any depth (an attachment's content type and size)."""

    keep: frozenset[str] = frozenset()
    actor: bool = False

    def applies(self, value: Any) -> bool:
        if self.actor:
            return isinstance(value, str) and value.startswith(CHANNEL_ACTOR_PREFIXES)
        return True

    def shape(self, value: Any, mark: str = SEALED) -> Any:
        if self.actor:
            return str(value).split(":", 1)[0] + ":" + mark
        return shape(value, self.keep, mark)


PERSONAL = Rule()
ACTOR = Rule(actor=True)
ATTACHMENTS = Rule(keep=frozenset({"content_type", "size"}))


def fields(plain: str = "", personal: str = "", **rules: Rule) -> dict[str, Rule | None]:
    """One event's declaration: space-separated plain and personal field names,
    and personal fields with a rule of their own as keywords.  `actor` is added
    as ACTOR unless listed."""
    declared: dict[str, Rule | None] = {"actor": ACTOR}
    declared.update(dict.fromkeys(plain.split()))
    declared.update(dict.fromkeys(personal.split(), PERSONAL))
    declared.update(rules)
    return declared


@dataclass(frozen=True)
class PersonalData:
    """An aggregate's declaration.  `owner(aggregate)` is the customer code whose
    key seals the aggregate's events, or None when nobody's data is in it."""

    owner: Callable[[Any], str | None]
    events: Mapping[str, Mapping[str, Rule | None]] = field(default_factory=dict)
    # When the owner is None: store in clear (staff accounts, desk knowledge)
    # rather than refuse to store a personal value nobody's key can seal.
    unowned_in_clear: bool = False

    def rules_for(self, event_name: str) -> Mapping[str, Rule | None] | None:
        return self.events.get(event_name)


def shape(value: Any, keep: frozenset[str] = frozenset(), mark: str = SEALED) -> Any:
    if value is None or isinstance(value, bool) or value == "":
        return value
    if isinstance(value, dict):
        return {k: (v if k in keep else shape(v, keep, mark)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shape(v, keep, mark) for v in value]
    return mark


def redacted(sealed_shape: Any) -> Any:
    """A sealed shape with every SEALED mark turned into ERASED."""
    if sealed_shape == SEALED:
        return ERASED
    if isinstance(sealed_shape, str) and sealed_shape.endswith(":" + SEALED):
        return sealed_shape[: -len(SEALED)] + ERASED
    if isinstance(sealed_shape, dict):
        return {k: redacted(v) for k, v in sealed_shape.items()}
    if isinstance(sealed_shape, list):
        return [redacted(v) for v in sealed_shape]
    return sealed_shape


def erase_values(value: Any, keep: frozenset[str] = frozenset()) -> Any:
    """What a personal value becomes once its key is gone; idempotent, so a read
    model may apply it to a value it copied verbatim from an event."""
    return shape(value, keep, ERASED)


def erase_actor(actor: Any) -> Any:
    """A customer's channel actor erased ("email:[erased]"); staff actors unchanged."""
    return ACTOR.shape(actor, ERASED) if ACTOR.applies(actor) else actor
