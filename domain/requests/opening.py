"""Starting a new request on a customer, shared by every way a request begins."""

from __future__ import annotations

from domain import ids
from domain.aggregates.customer import Customer
from domain.aggregates.request_ledger import SHARDS, CustomerRequests, shard_of
from domain.aggregates.service_request import ServiceRequest
from domain.routing.route import route_new_request
from domain.store import Pending, Store

MAX_SUBJECT = 500


def new_request(
    store: Store,
    pending: Pending,
    customer: Customer,
    request_type: str,
    channel: str,
    subject: str,
    description: str,
    actor: str,
    priority: str = "normal",
    product: str | None = None,
    follow_up_of: str | None = None,
) -> ServiceRequest:
    reference = store.next_reference()
    request = ServiceRequest(
        reference=reference, customer_code=customer.code, request_type=request_type,
        channel=channel, subject=subject[:MAX_SUBJECT], description=description,
        priority=priority, product=product, actor=actor, follow_up_of=follow_up_of,
    )
    ledger = store.get(CustomerRequests, ids.request_shard_id(customer.code, shard_of(reference)))
    if ledger is None:
        ledger = CustomerRequests(customer_code=customer.code, shard=shard_of(reference),
                                  actor=actor)
    ledger.link(reference=reference, actor=actor)
    pending.add(request, ledger)
    route_new_request(store, pending, request, customer)
    return request


def customer_requests(store: Store, customer: Customer) -> list[str]:
    """Every request of a customer: those linked on its own stream (before the
    ledger existed, or absorbed in a merge) and those in its ledger's shards."""
    found = list(customer.requests)
    for shard in range(SHARDS):
        ledger = store.get(CustomerRequests, ids.request_shard_id(customer.code, shard))
        if ledger is not None:
            found.extend(r for r in ledger.references if r not in found)
    return found


def first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def summary(subject: str, body: str) -> str:
    text = " ".join((subject + " " + (body or "")).split())
    return text[:200]
