"""Recording received messages in batches (domain.requests.batch) and the
aggregate cache kept coherent from the log (domain.cache), on both stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.application import Ledgerdesk
from domain.customers.commands import MergeCustomer, RegisterCustomer
from domain.errors import NotFound
from domain.requests.batch import RecordInboundBatch
from domain.requests.commands import ChangeStatus, InboundMessage, Recorded, RecordInbound
from ledgerdesk.config import Database
from ledgerdesk.persistence import event_store_env

AGENT = "agent@desk.cn"


@pytest.fixture
def desk(app: Ledgerdesk) -> Ledgerdesk:
    # Provisional, as a sender's customer is until an agent merges it (the
    # cache test below merges it into a registered one).
    app.handle(RegisterCustomer("ACME", "艾克美", actor="admin", classification="provisional",
                                identities=[("email", "li@acme.cn")]))
    return app


@pytest.fixture
def other(store: Database, desk: Ledgerdesk) -> Iterator[Ledgerdesk]:
    """A second application on the same store: another process, as far as caches go."""
    second = Ledgerdesk(env=event_store_env(store), reply_channels=("email", "web"))
    yield second
    second.close()


def email(message_id: str, body: str = "打印机卡纸", **kwargs: object) -> InboundMessage:
    values: dict[str, object] = {
        "channel": "email", "external_id": message_id, "sender": "li@acme.cn",
        "subject": "打印机故障", "body": body,
    }
    values.update(kwargs)
    return InboundMessage(**values)  # type: ignore[arg-type]


def batch(app: Ledgerdesk, *messages: InboundMessage) -> list[Recorded | Exception]:
    outcomes: list[Recorded | Exception] = app.handle(RecordInboundBatch(tuple(messages)))
    return outcomes


def recorded_ids(app: Ledgerdesk, reference: str) -> list[str]:
    return list(app.service_request(reference).message_ids)


def test_a_batch_is_recorded_with_its_threads_and_one_duplicate_inside(desk: Ledgerdesk) -> None:
    head = desk.recorder.max_notification_id() or 0
    first, second, again, stranger, reply = batch(
        desk,
        email("<m1@acme.cn>"),
        email("<m2@acme.cn>", "还是卡纸", thread_hints=("<m1@acme.cn>",)),
        email("<m1@acme.cn>"),
        email("<s1@new.cn>", "你好", sender="wang@new.cn"),
        email("<s2@new.cn>", "补充", sender="wang@new.cn", thread_hints=("<s1@new.cn>",)),
    )
    assert isinstance(first, Recorded) and first.new_request
    assert isinstance(second, Recorded) and second.reference == first.reference
    assert not second.new_request and not second.duplicate
    assert isinstance(again, Recorded) and again.duplicate and again.reference == first.reference
    assert isinstance(stranger, Recorded) and stranger.new_customer
    assert isinstance(reply, Recorded) and reply.reference == stranger.reference
    assert reply.customer_code == stranger.customer_code and not reply.new_customer
    assert recorded_ids(desk, first.reference) == ["<m1@acme.cn>", "<m2@acme.cn>"]
    assert recorded_ids(desk, stranger.reference) == ["<s1@new.cn>", "<s2@new.cn>"]
    # One atomic write: the new notifications are contiguous and all there.
    notifications = desk.recorder.select_notifications(start=head, limit=100,
                                                       inclusive_of_start=False)
    assert len({n.originator_id for n in notifications}) >= 8
    # Recording the batch again records nothing.
    assert all(isinstance(o, Recorded) and o.duplicate for o in batch(
        desk, email("<m1@acme.cn>"), email("<m2@acme.cn>"), email("<s1@new.cn>",
                                                                  sender="wang@new.cn")))
    assert desk.recorder.max_notification_id() == notifications[-1].id


def test_a_bad_message_fails_alone(desk: Ledgerdesk) -> None:
    good, bad, blank, late = batch(
        desk,
        email("<g1@acme.cn>"),
        email("<b1@acme.cn>", reference="SR-999999"),
        email(""),
        email("<g2@acme.cn>", thread_hints=("<g1@acme.cn>",)),
    )
    assert isinstance(good, Recorded) and isinstance(late, Recorded)
    assert isinstance(bad, NotFound) and "SR-999999" in str(bad)
    assert isinstance(blank, Exception) and "id" in str(blank)
    assert recorded_ids(desk, good.reference) == ["<g1@acme.cn>", "<g2@acme.cn>"]


def test_a_batch_partly_recorded_before_a_crash_records_the_rest_once(
    desk: Ledgerdesk, other: Ledgerdesk
) -> None:
    messages = [email(f"<c{i}@acme.cn>", f"第 {i} 条", thread_hints=("<c0@acme.cn>",))
                for i in range(6)]
    # The first three were recorded (by a process that then died before the rest).
    for message in messages[:3]:
        other.handle(RecordInbound(message))
    outcomes = batch(desk, *messages)
    assert [o.duplicate for o in outcomes if isinstance(o, Recorded)] == [True] * 3 + [False] * 3
    reference = outcomes[0].reference if isinstance(outcomes[0], Recorded) else ""
    assert recorded_ids(desk, reference) == [m.external_id for m in messages]
    assert all(isinstance(o, Recorded) and o.duplicate for o in batch(desk, *messages))
    assert recorded_ids(other, reference) == [m.external_id for m in messages]


def test_the_cache_learns_what_another_process_wrote(desk: Ledgerdesk, other: Ledgerdesk) -> None:
    first = desk.handle(RecordInbound(email("<x1@acme.cn>")))
    # Both processes now hold the request (and the customer) in their caches.
    other.handle(RecordInbound(email("<x2@acme.cn>", thread_hints=("<x1@acme.cn>",))))
    desk.handle(RecordInbound(email("<x3@acme.cn>", thread_hints=("<x1@acme.cn>",))))
    other.handle(ChangeStatus(first.reference, "closed", actor=AGENT))
    # Closed elsewhere: this process's next message starts a follow-up request.
    later = desk.handle(RecordInbound(email("<x4@acme.cn>", thread_hints=("<x1@acme.cn>",))))
    assert later.new_request and later.reference != first.reference
    assert recorded_ids(desk, first.reference) == ["<x1@acme.cn>", "<x2@acme.cn>", "<x3@acme.cn>"]
    # A read-only aggregate changed elsewhere (a merge) is read afresh too.
    other.handle(RegisterCustomer("ACME2", "艾克美二", actor="admin"))
    desk.customer("ACME")
    other.handle(MergeCustomer("ACME", "ACME2", actor="admin"))
    merged = desk.handle(RecordInbound(email("<x5@acme.cn>", customer_code="ACME")))
    assert merged.customer_code == "ACME2"
