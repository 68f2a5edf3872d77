"""Starting a new request on a customer, shared by every way a request begins."""

from __future__ import annotations

from domain.aggregates.customer import Customer
from domain.aggregates.service_request import ServiceRequest
from domain.store import Store

MAX_SUBJECT = 500


def new_request(
    store: Store,
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
    customer.link_request(reference=reference, actor=actor)
    return request


def first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def summary(subject: str, body: str) -> str:
    text = " ".join((subject + " " + (body or "")).split())
    return text[:200]
