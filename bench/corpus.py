"""A large, realistic event log, written fast: the domain aggregates do the work
and `Application.save` stores them, many aggregates per save.

Going through the commands one interaction at a time (bench/ingest.py measures
that path) would take an hour for a million events; here each save carries a
few hundred aggregates, so the same events reach the store in a few minutes.
The events are the ones the commands produce: a request opened by an inbound
message (Opened, MessageReceived, the customer's RequestLinked, a
CustomerContact and an InboundReceipt), assignment, replies queued and delivered,
the customer's answers, and some requests resolved, escalated or rated.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import ids
from domain.aggregates.contact import CustomerContact
from domain.aggregates.customer import Customer
from domain.aggregates.identity import ChannelIdentity
from domain.aggregates.receipt import InboundReceipt
from domain.aggregates.sequence import ReferenceSequence
from domain.aggregates.service_request import ServiceRequest
from domain.application import Ledgerdesk

AGENTS = [f"agent{n}@bench" for n in range(20)]
SUBJECTS = ["打印机卡纸", "空调不制冷", "Invoice copy please", "设备安装预约", "退货申请",
            "Screen flickers after update", "投诉：维修超时", "保修期查询"]


def customer_code(n: int) -> str:
    return f"C{n:06d}"


def generate(
    app: Ledgerdesk,
    customers: int,
    requests: int,
    batch: int = 400,
    start: int = 0,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write `customers` customers and `requests` requests (about ten events
    each).  `start` offsets the request numbers so a second call grows the
    same log; customers are registered by the first call only."""
    rng = random.Random(start + 7)
    pending: dict[UUID, Aggregate] = {}  # one entry per aggregate, however often touched

    def flush(force: bool = False) -> None:
        if len(pending) >= batch or (force and pending):
            app.save(*pending.values())
            pending.clear()
            if progress:
                progress(app.recorder.max_notification_id() or 0)

    people: dict[int, Customer] = {}  # kept in memory: each gets new events often
    if start == 0:
        for n in range(customers):
            customer = Customer(code=customer_code(n), name=f"客户 {n}", kind="company",
                                classification="standard", actor="bench")
            customer.link_identity(kind="email", value=f"c{n}@bench.cn", actor="bench")
            people[n] = customer
            identity = ChannelIdentity(kind="email", value=f"c{n}@bench.cn",
                                       customer_code=customer.code, actor="bench")
            pending[customer.id] = customer
            pending[identity.id] = identity
            flush()
        flush(force=True)

    def customer_for(n: int) -> Customer:
        if n not in people:
            found: Aggregate = app.repository.get(ids.customer_id(customer_code(n)))
            assert isinstance(found, Customer)
            people[n] = found
        return people[n]

    now = datetime.now(UTC)
    for r in range(start, start + requests):
        customer = customer_for(rng.randrange(customers))
        sender = f"c{customer.code[1:].lstrip('0') or '0'}@bench.cn"
        reference = ids.format_reference(r + 1)
        subject = rng.choice(SUBJECTS)
        at = now - timedelta(minutes=rng.randrange(60 * 24 * 90))
        request = ServiceRequest(
            reference=reference, customer_code=customer.code, request_type="support",
            channel="email", subject=subject, description=f"{subject}，编号 {r}",
            priority=rng.choice(["normal", "normal", "high", "low", "urgent"]), product=None,
            actor=f"email:{sender}",
        )
        customer.link_request(reference=reference, actor=f"email:{sender}")
        receipts: list[Aggregate] = []
        for turn in range(1 + (rng.random() < 0.5)):
            external_id = f"<m{r}.{turn}@bench.cn>"
            request.receive_message(
                channel="email", external_id=external_id, sender=sender, subject=subject,
                body=f"第 {turn} 封邮件：{subject}。请尽快处理。", attachments=[],
                occurred_at=at, actor=f"email:{sender}", details={},
            )
            receipts.append(CustomerContact(
                customer_code=customer.code, channel="email", external_id=external_id,
                direction="inbound", kind="message", reference=reference, summary=subject,
                occurred_at=at, actor=f"email:{sender}"))
            receipts.append(InboundReceipt(channel="email", external_id=external_id,
                                           reference=reference, customer_code=customer.code,
                                           actor=f"email:{sender}"))
            if turn == 0:
                agent = rng.choice(AGENTS)
                request.assign(assignee=agent, actor=agent)
                request.queue_reply(reply_id=f"r{r}", body="您好，我们已收到，正在处理。",
                                    attachments=[], recipient=sender, actor=agent)
                request.mark_delivered(reply_id=f"r{r}", external_id=f"<reply-r{r}@bench>",
                                       actor="email")
        roll = rng.random()
        if roll < 0.3:
            request.resolve(resolution="已更换部件", actor=request.assignee or "bench")
        elif roll < 0.35:
            request.escalate(reason="客户投诉", actor=request.assignee or "bench")
        for aggregate in (request, customer, *receipts):
            pending[aggregate.id] = aggregate
        flush()
    flush(force=True)
    _advance_reference_sequence(app, start + requests)


def _advance_reference_sequence(app: Ledgerdesk, used: int) -> None:
    """Later `open_request` calls must not reuse the numbers written above."""
    sequence_id = ids.sequence_id("service-request")
    sequence: Aggregate
    try:
        sequence = app.repository.get(sequence_id)
    except Exception:
        sequence = ReferenceSequence(name="service-request")
    assert isinstance(sequence, ReferenceSequence)
    if sequence.next_number <= used:
        sequence.reserve(start=sequence.next_number, count=used + 1 - sequence.next_number)
        app.save(sequence)
