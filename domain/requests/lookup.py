"""Finding a service request by its reference (SR-000123)."""

from __future__ import annotations

from domain import ids
from domain.aggregates.service_request import ServiceRequest
from domain.errors import NotFound
from domain.store import Store


def load_request(store: Store, reference: str) -> ServiceRequest:
    if not ids.REFERENCE_PATTERN.match(reference or ""):
        raise NotFound(f"no service request {reference!r}")
    return store.load(ServiceRequest, ids.request_id(reference),
                      f"no service request {reference!r}")


def find_request(store: Store, reference: str) -> ServiceRequest | None:
    if not ids.REFERENCE_PATTERN.match(reference or ""):
        return None
    return store.get(ServiceRequest, ids.request_id(reference))
