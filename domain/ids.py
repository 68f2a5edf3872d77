"""Deterministic aggregate IDs.

Things that must be unique (a customer code, a user's email, a channel
identity, an inbound message's channel id) get an aggregate whose ID is derived
from the unique value.  Creating that aggregate twice is then a version-1
conflict inside the same atomic save as everything else, which is how the
event store enforces uniqueness without a check-then-write race.

IDs derived from a person's data (an email address, a phone number, a
channel's message id) are a keyed HMAC, not a plain hash: a uuid5 of an
address can be recomputed by anyone who guesses the address, and would say
"this person wrote to us" after their erasure.  The key comes from the master
key (ledgerdesk.keys) and is installed once per process by the application.
Codes, references, serials and names of sequences are not personal and stay
uuid5.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from uuid import UUID, uuid5

from domain import phones

log = logging.getLogger(__name__)

# Never change this: every stored ID depends on it.
NAMESPACE = UUID("5d1e2b8c-7a43-4f0e-9c1a-3b6f0d2e8a71")

NUMBER_KINDS = ("phone", "fax")

REFERENCE_PATTERN = re.compile(r"^SR-[0-9]{6,}\Z")  # ASCII digits, no trailing newline


_index_key: bytes | None = None


def use_index_key(key: bytes, *, replace: bool = True) -> None:
    """Install the secret of keyed ids.  `replace=False` installs it only when
    none is (an in-memory store must not displace a real store's key)."""
    global _index_key
    if _index_key is not None and not replace:
        return
    if _index_key is not None and _index_key != key:
        log.warning("a second index key replaces the first in this process; ids of "
                    "identities, receipts and users now follow the new one")
    _index_key = key


def keyed_id(text: str) -> UUID:
    if _index_key is None:
        raise RuntimeError("no index key installed: construct the Ledgerdesk application first")
    digest = hmac.new(_index_key, text.encode(), hashlib.sha256).digest()
    return UUID(bytes=digest[:16], version=4)


def legacy_ids(keyed: str) -> UUID:
    """The uuid5 stores written before keyed ids used (Ledgerdesk 0.1): looked up
    after the keyed id, so an older store's users, identities and receipts are
    still found.  New aggregates always get the keyed id."""
    return uuid5(NAMESPACE, keyed)


def user_ids(email: str) -> tuple[UUID, UUID]:
    """(keyed id, id in stores from before keyed ids)."""
    text = f"user:{normalise_email(email)}"
    return keyed_id(text), legacy_ids(text)


def identity_ids(kind: str, value: str) -> tuple[UUID, ...]:
    """Where an identity's index may be, in the order to look: its keyed id, then
    its legacy twin; for numbers, the same for each spelling an older store
    derived ids from (domain.phones.earlier_spellings: before E.164, `010-66550101`
    was kept as "01066550101")."""
    spellings = [normalise_identity(kind, value)]
    if kind in NUMBER_KINDS:
        spellings.extend(phones.earlier_spellings(value))
    found: list[UUID] = []
    for spelling in dict.fromkeys(spellings):
        text = f"identity:{kind}:{spelling}"
        found.extend((keyed_id(text), legacy_ids(text)))
    return tuple(found)


def receipt_ids(channel: str, external_id: str) -> tuple[UUID, UUID]:
    text = f"receipt:{channel}:{external_id}"
    return keyed_id(text), legacy_ids(text)


def customer_id(code: str) -> UUID:
    return uuid5(NAMESPACE, f"customer:{code}")


def request_id(reference: str) -> UUID:
    return uuid5(NAMESPACE, f"service-request:{reference}")


def user_id(email: str) -> UUID:
    return keyed_id(f"user:{normalise_email(email)}")


def identity_id(kind: str, value: str) -> UUID:
    return keyed_id(f"identity:{kind}:{normalise_identity(kind, value)}")


def receipt_id(channel: str, external_id: str) -> UUID:
    return keyed_id(f"receipt:{channel}:{external_id}")


def contact_id(customer_code: str, channel: str, external_id: str) -> UUID:
    return keyed_id(f"contact:{customer_code}:{channel}:{external_id}")


def request_shard_id(customer_code: str, shard: int) -> UUID:
    return uuid5(NAMESPACE, f"customer-requests:{customer_code}:{shard}")


def product_id(serial: str) -> UUID:
    """Serial numbers are compared without regard to case: printed labels vary."""
    return uuid5(NAMESPACE, f"installed-product:{serial.strip().upper()}")


def sequence_id(name: str) -> UUID:
    return uuid5(NAMESPACE, f"sequence:{name}")


def format_reference(number: int) -> str:
    return f"SR-{number:06d}"


def normalise_email(address: str) -> str:
    return address.strip().lower()


def normalise_identity(kind: str, value: str) -> str:
    """The canonical spelling of an identity, so `010-66550101` and `+86 10 6655 0101` match."""
    value = value.strip()
    if kind == "email":
        return normalise_email(value)
    if kind in NUMBER_KINDS:
        try:
            return phones.normalise_number(value)
        except phones.UnparsableNumber:
            # Commands refuse these (domain.customers.handlers.checked_identity);
            # an id is still derived the way it always was.
            return phones.digits_as_typed(value)
    return value
