"""Encrypting personal fields per customer, inside the event store's mapper.

`SealingMapper` is the `eventsourcing` library's Mapper with one step added
each way.  Writing, the personal fields of an event (domain.personal) are
replaced by their shape and encrypted, all together, into one envelope:

    {"subject": "[sealed]", ..., "_sealed_": {"v": 1, "k": KEY_ID, "f": [names],
                                              "c": base64(nonce + AES-GCM box)}}

with the stream id, version and topic as associated data, so a box cannot be
moved to another event.  Reading, the envelope is opened with the key it names;
when that key was destroyed (the customer was erased) the shape is shown with
`[erased]` in place of every value.  A key the key store has never heard of is
an error, never an erasure: a lost key store must not pass for erased data.

The mapper learns whose key to use from `sealing_for(owners)`, which
`Ledgerdesk.save` wraps around every write (aggregate id -> customer code).  A
personal value with no owner, or an event whose fields are not all declared, is
refused: nothing is stored in clear by mistake.

The audit chain hashes the stored bytes, which destroying a key never changes,
so `audit verify` passes after an erasure.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any, Protocol, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import (
    Compressor,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
)
from eventsourcing.utils import get_topic, resolve_topic

from domain.errors import CustomerWasErased
from domain.personal import PersonalData, Rule, redacted

ENVELOPE = "_sealed_"
# Fields every event has, which are never personal.
BASE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic"}
)


class KeyMissing(RuntimeError):
    """An event names a key the key store has never held: the key store is not
    the one this event store was written with."""


class KeyStoreError(RuntimeError):
    """The key store cannot be trusted to open this event store (wrong master
    key, missing key store): refuse to start rather than show data as erased."""


class UnsealableEvent(RuntimeError):
    """An event would store personal data in clear (a programming error)."""


class KeyRing(Protocol):
    """Per-customer data keys.  The key id is the customer code."""

    def sealing_key(self, owner: str) -> AESGCM:
        """The owner's key, created on first use; CustomerWasErased once destroyed."""

    def opening_key(self, key_id: str) -> AESGCM | None:
        """The key, or None when it was destroyed; KeyMissing when never held."""

    def destroy(self, key_ids: Iterable[str]) -> None:
        """Destroy these keys for good (idempotent)."""

    def is_destroyed(self, key_id: str) -> bool: ...

    def index_key(self) -> bytes:
        """The secret that keys index ids (domain.ids)."""

    def refresh(self) -> None:
        """Learn of keys other processes destroyed (cheap when nothing is due)."""


MEMORY_INDEX_KEY = b"ledgerdesk in-memory index key.."


class MemoryKeyRing:
    """Keys in memory: for unit tests and the in-memory store."""

    def __init__(self) -> None:
        self._keys: dict[str, AESGCM] = {}
        self._destroyed: set[str] = set()

    def sealing_key(self, owner: str) -> AESGCM:
        if owner in self._destroyed:
            raise CustomerWasErased(f"customer {owner} was erased")
        if owner not in self._keys:
            self._keys[owner] = AESGCM(AESGCM.generate_key(bit_length=256))
        return self._keys[owner]

    def opening_key(self, key_id: str) -> AESGCM | None:
        if key_id in self._destroyed:
            return None
        try:
            return self._keys[key_id]
        except KeyError:
            raise KeyMissing(f"no key {key_id!r} in this key ring") from None

    def destroy(self, key_ids: Iterable[str]) -> None:
        for key_id in key_ids:
            self._keys.pop(key_id, None)
            self._destroyed.add(key_id)

    def is_destroyed(self, key_id: str) -> bool:
        return key_id in self._destroyed

    def refresh(self) -> None:
        """Memory keys live in one process: nothing to learn."""

    def index_key(self) -> bytes:
        # A memory store keeps nothing after the process ends, so its ids need
        # no secret; a fixed key keeps them equal across apps in one test.
        return MEMORY_INDEX_KEY


# The owner of an aggregate whose personal fields may be stored as they are.
IN_CLEAR = ""

# aggregate id -> owner (a customer code, IN_CLEAR or None), for the save in progress.
_OWNERS: ContextVar[Mapping[UUID, str | None] | None] = ContextVar("sealing_owners", default=None)


@contextmanager
def sealing_for(owners: Mapping[UUID, str | None]) -> Iterator[None]:
    token = _OWNERS.set(owners)
    try:
        yield
    finally:
        _OWNERS.reset(token)


def owner_of(aggregate: Aggregate) -> str | None:
    """Whose key seals this aggregate's events: a customer code, IN_CLEAR, or
    None when nobody's (a personal value then refuses to be stored)."""
    declared = declaration_of(type(aggregate))
    owner = declared.owner(aggregate)
    if owner is None and declared.unowned_in_clear:
        return IN_CLEAR
    return owner


def declaration_of(aggregate_class: type) -> PersonalData:
    declared = getattr(aggregate_class, "personal_data", None)
    if not isinstance(declared, PersonalData):
        raise UnsealableEvent(f"{aggregate_class.__name__} declares no personal_data")
    return declared


@cache
def rules_of(event_class: type) -> Mapping[str, Rule | None]:
    """The declared fields of an event class (nested in its aggregate class)."""
    module = sys.modules[event_class.__module__]
    aggregate_name, _, event_name = event_class.__qualname__.rpartition(".")
    aggregate_class = getattr(module, aggregate_name, None)
    if aggregate_class is None or not issubclass(aggregate_class, Aggregate):
        raise UnsealableEvent(f"{event_class.__qualname__} belongs to no aggregate")
    rules = declaration_of(aggregate_class).rules_for(event_name)
    if rules is None:
        if event_fields(event_class):
            raise UnsealableEvent(
                f"{event_class.__qualname__}: declare its fields personal or plain"
            )
        return {}
    return rules


def event_fields(event_class: type) -> set[str]:
    names: set[str] = set()
    for klass in event_class.__mro__:
        names.update(getattr(klass, "__annotations__", {}))
    return names - BASE_FIELDS - {"originator_id_type"}


def associated_data(originator_id: Any, version: int, topic: str) -> bytes:
    return f"{originator_id}|{version}|{topic}".encode()


class SealingMapper(Mapper[UUID]):
    def __init__(
        self,
        transcoder: Transcoder,
        keys: KeyRing,
        compressor: Compressor | None = None,
    ) -> None:
        super().__init__(transcoder, compressor=compressor)
        self.keys = keys

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        event_class = type(domain_event)
        rules = rules_of(event_class)
        state = dict(vars(domain_event))
        undeclared = set(state) - BASE_FIELDS - set(rules)
        if undeclared:
            raise UnsealableEvent(
                f"{event_class.__qualname__}: undeclared fields {sorted(undeclared)}"
            )
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        topic = get_topic(event_class)
        secret: dict[str, Any] = {}
        shaped: dict[str, Any] = {}
        for name, rule in rules.items():
            if rule is not None and name in state and rule.applies(state[name]):
                shape = rule.shape(state[name])
                if shape != state[name]:
                    secret[name], shaped[name] = state[name], shape
        owner = (_OWNERS.get() or {}).get(originator_id) if secret else IN_CLEAR
        if owner is None:
            raise UnsealableEvent(
                f"{event_class.__qualname__} holds personal data but its aggregate "
                f"has no owner in this save"
            )
        if owner != IN_CLEAR:
            nonce = os.urandom(12)
            box = self.keys.sealing_key(owner).encrypt(
                nonce,
                self.transcoder.encode(secret),
                associated_data(originator_id, originator_version, topic),
            )
            state.update(shaped)
            state[ENVELOPE] = {
                "v": 1,
                "k": owner,
                "f": sorted(secret),
                "c": base64.b64encode(nonce + box).decode(),
            }
        class_version = getattr(event_class, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        stored_state = self.transcoder.encode(state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = resolve_topic(stored_event.topic)
        try:
            stored_state = stored_event.state
            if self.compressor:
                stored_state = self.compressor.decompress(stored_state)
            state: dict[str, Any] = self.transcoder.decode(stored_state)
        except Exception as e:
            raise MapperDeserialisationError(
                f"cannot decode the stored event {stored_event.originator_id} "
                f"v{stored_event.originator_version} ({stored_event.topic}): {e}"
            ) from e
        envelope = state.pop(ENVELOPE, None)
        if envelope is not None:
            state.update(self._opened(envelope, state, stored_event))
        state["originator_id"] = _as_uuid(stored_event.originator_id)
        state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return cast(DomainEventProtocol[UUID], domain_event)

    def _opened(
        self, envelope: dict[str, Any], state: dict[str, Any], stored: StoredEvent
    ) -> dict[str, Any]:
        key_id, names = envelope["k"], envelope["f"]
        key = self.keys.opening_key(key_id)
        if key is None:
            return {name: redacted(state.get(name)) for name in names}
        blob = base64.b64decode(envelope["c"])
        try:
            plain = key.decrypt(
                blob[:12],
                blob[12:],
                associated_data(stored.originator_id, stored.originator_version, stored.topic),
            )
        except InvalidTag:
            raise MapperDeserialisationError(
                f"the personal data of stored event {stored.originator_id} "
                f"v{stored.originator_version} does not open with key {key_id}: "
                f"it was altered, or the key store is not this event store's"
            ) from None
        opened: dict[str, Any] = self.transcoder.decode(plain)
        return opened


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
