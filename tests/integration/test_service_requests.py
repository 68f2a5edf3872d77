"""Service-request commands and inbound interactions, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.persistence import IntegrityError

from domain import ids
from domain.application import Ledgerdesk
from domain.customers.commands import MergeCustomer, RegisterCustomer, UpdateCustomer
from domain.errors import ConcurrentChange, InvalidInput, InvalidTransition, NotFound
from domain.requests.commands import (
    AddNote,
    Assign,
    ChangeStatus,
    Escalate,
    FaxPage,
    InboundMessage,
    LogCall,
    MarkReplyDelivered,
    MarkReplyFailed,
    OpenRequest,
    QueueReply,
    RateSatisfaction,
    RecordFax,
    RecordInbound,
)
from domain.requests.opening import customer_requests
from domain.users.commands import AddUser
from ledgerdesk.config import Database
from ledgerdesk.persistence import event_store_env

AGENT = "agent@desk.cn"


@pytest.fixture
def desk(app: Ledgerdesk) -> Ledgerdesk:
    app.handle(RegisterCustomer(
        "ACME", "艾克美", actor="admin", identities=[("email", "li@acme.cn"), ("fax", "010-5555")]
    ))
    app.handle(AddUser(AGENT, ["agent"], actor="admin"))
    app.handle(AddUser("eng@desk.cn", ["engineer"], actor="admin"))
    return app


def email(message_id: str, body: str = "打印机卡纸", **kwargs: object) -> InboundMessage:
    values: dict[str, object] = {
        "channel": "email", "external_id": message_id, "sender": "li@acme.cn",
        "subject": "打印机故障", "body": body,
    }
    values.update(kwargs)
    return InboundMessage(**values)  # type: ignore[arg-type]


def event_names(app: Ledgerdesk, reference: str) -> list[str]:
    request = app.service_request(reference)
    return [type(e).__name__ for e in app.events.get(request.id)]


def test_open_request_and_work_it_to_closed(desk: Ledgerdesk) -> None:
    ref = desk.handle(OpenRequest("ACME", "repair", "复印机不出纸", actor=AGENT, channel="phone",
                            product="MX-3000"))
    assert ref.startswith("SR-") and len(ref) == 9
    desk.handle(Assign(ref, AGENT, actor="manager@desk.cn"))
    desk.handle(AddNote(ref, "需要上门", actor=AGENT))
    desk.handle(ChangeStatus(ref, "pending_customer", actor=AGENT))
    desk.handle(Escalate(ref, "疑难问题", actor=AGENT,
                         due_at=datetime.now(UTC) + timedelta(days=1)))
    desk.handle(Assign(ref, "eng@desk.cn", actor=AGENT, reason="转工程师"))
    desk.handle(ChangeStatus(ref, "resolved", actor="eng@desk.cn", reason="更换搓纸轮"))
    desk.handle(RateSatisfaction(ref, 5, "很满意", actor="li@acme.cn"))
    desk.handle(ChangeStatus(ref, "closed", actor=AGENT))
    request = desk.service_request(ref)
    assert (request.status, request.assignee, request.satisfaction) == ("closed", "eng@desk.cn", 5)
    assert event_names(desk, ref) == [
        "Opened", "Assigned", "NoteAdded", "StatusChanged", "Escalated", "Transferred",
        "Resolved", "SatisfactionRated", "Closed",
    ]
    assert ref in customer_requests(desk.store, desk.customer("ACME"))


def test_every_event_says_who_did_it(desk: Ledgerdesk) -> None:
    ref = desk.handle(OpenRequest("ACME", "support", "x", actor=AGENT))
    desk.handle(AddNote(ref, "n", actor="someone@desk.cn"))
    actors = [getattr(e, "actor", None) for e in desk.events.get(desk.service_request(ref).id)]
    assert actors == [AGENT, "someone@desk.cn"]


def test_request_refusals(desk: Ledgerdesk) -> None:
    with pytest.raises(NotFound):
        desk.handle(OpenRequest("NOPE", "support", "x", actor=AGENT))
    with pytest.raises(InvalidInput) as e:
        desk.handle(OpenRequest("ACME", "gossip", "x", actor=AGENT))
    assert "type" in e.value.fields
    with pytest.raises(InvalidInput):
        desk.handle(OpenRequest("ACME", "support", "   ", actor=AGENT))
    ref = desk.handle(OpenRequest("ACME", "support", "x", actor=AGENT))
    desk.handle(ChangeStatus(ref, "resolved", actor=AGENT))
    with pytest.raises(InvalidTransition, match="is resolved; it cannot become pending_customer"):
        desk.handle(ChangeStatus(ref, "pending_customer", actor=AGENT))
    with pytest.raises(InvalidTransition, match="already resolved"):
        desk.handle(ChangeStatus(ref, "resolved", actor=AGENT))
    desk.handle(ChangeStatus(ref, "open", actor=AGENT))  # reopening is allowed
    with pytest.raises(InvalidInput):
        desk.handle(ChangeStatus(ref, "new", actor=AGENT))
    with pytest.raises(InvalidInput):
        desk.handle(ChangeStatus(ref, "sleeping", actor=AGENT))
    with pytest.raises(InvalidInput):
        desk.handle(AddNote(ref, "  ", actor=AGENT))
    desk.handle(AddUser("c@acme.cn", ["customer"], actor="admin", customer_code="ACME"))
    with pytest.raises(InvalidInput, match="not an agent"):
        desk.handle(Assign(ref, "c@acme.cn", actor=AGENT))
    with pytest.raises(NotFound):
        desk.handle(AddNote("SR-999999", "x", actor=AGENT))
    with pytest.raises(NotFound):
        desk.handle(AddNote("not a ref", "x", actor=AGENT))
    with pytest.raises(InvalidTransition, match="once it is resolved"):
        desk.handle(RateSatisfaction(desk.handle(OpenRequest("ACME", "support", "y",
                                     actor=AGENT)), 4, "",
                               actor=AGENT))


def test_inbound_email_from_known_customer_opens_a_request(desk: Ledgerdesk) -> None:
    result = desk.handle(RecordInbound(email("<m1@acme.cn>")))
    assert (result.customer_code, result.new_request, result.duplicate) == ("ACME", True, False)
    request = desk.service_request(result.reference)
    assert (request.channel, request.subject, request.status) == ("email", "打印机故障", "new")
    # Neither the new request nor the contact writes the customer's own stream,
    # so a busy customer is not a hotspot: the request is listed in a ledger shard.
    customer_events = [type(e).__name__ for e in desk.events.get(desk.customer("ACME").id)]
    assert "RequestLinked" not in customer_events
    assert result.reference in customer_requests(desk.store, desk.customer("ACME"))
    # The contact is a record of its own, so a busy customer's stream is not a hotspot.
    contact = desk.repository.get(ids.contact_id("ACME", "email", "<m1@acme.cn>"))
    assert (contact.customer_code, contact.reference) == ("ACME", result.reference)
    # A further message on the request does not write the customer's stream at all.
    before = desk.customer("ACME").version
    again = desk.handle(RecordInbound(email("<m2@acme.cn>", thread_hints=(result.reference,))))
    assert again.reference == result.reference and desk.customer("ACME").version == before


def test_redelivered_message_is_recorded_once(desk: Ledgerdesk) -> None:
    first = desk.handle(RecordInbound(email("<m1@acme.cn>")))
    position = desk.recorder.max_notification_id()
    again = desk.handle(RecordInbound(email("<m1@acme.cn>")))
    assert again.duplicate and again.reference == first.reference
    assert desk.recorder.max_notification_id() == position  # nothing written
    assert event_names(desk, first.reference).count("MessageReceived") == 1


def test_reply_threads_into_the_request_and_reopens_resolved(desk: Ledgerdesk) -> None:
    first = desk.handle(RecordInbound(email("<m1@acme.cn>")))
    desk.handle(ChangeStatus(first.reference, "resolved", actor=AGENT))
    follow = desk.handle(RecordInbound(email("<m2@acme.cn>", "又卡纸了",
                                       reference=first.reference)))
    assert follow.reference == first.reference and not follow.new_request
    assert desk.service_request(first.reference).status == "open"
    desk.handle(ChangeStatus(first.reference, "closed", actor=AGENT))
    late = desk.handle(RecordInbound(email("<m3@acme.cn>", "谢谢", reference=first.reference)))
    assert late.new_request and late.reference != first.reference
    assert desk.service_request(late.reference).follow_up_of == first.reference


def test_reply_from_pending_customer_reopens_work(desk: Ledgerdesk) -> None:
    ref = desk.handle(RecordInbound(email("<m1@acme.cn>"))).reference
    desk.handle(ChangeStatus(ref, "pending_customer", actor=AGENT))
    desk.handle(RecordInbound(email("<m2@acme.cn>", reference=ref)))
    assert desk.service_request(ref).status == "open"


def test_stranger_gets_a_provisional_customer_that_can_be_merged(desk: Ledgerdesk) -> None:
    result = desk.handle(RecordInbound(email("<s1@x.cn>", sender="Zhang@Unknown.cn",
                                       sender_name="张三")))
    assert result.new_customer and result.customer_code.startswith("P-")
    provisional = desk.customer(result.customer_code)
    assert provisional.provisional and provisional.name == "张三"
    second = desk.handle(RecordInbound(email("<s2@x.cn>", sender="zhang@unknown.cn")))
    assert second.customer_code == result.customer_code and not second.new_customer

    desk.handle(MergeCustomer(result.customer_code, "ACME", actor=AGENT))
    assert desk.service_request(result.reference).customer_code == "ACME"
    acme = desk.customer("ACME")
    assert result.reference in acme.requests and acme.has_identity("email", "zhang@unknown.cn")
    later = desk.handle(RecordInbound(email("<s3@x.cn>", sender="zhang@unknown.cn")))
    assert later.customer_code == "ACME"
    with pytest.raises(InvalidTransition, match="merged into ACME"):
        desk.handle(UpdateCustomer(result.customer_code, {"name": "x"}, actor=AGENT))


def test_web_message_needs_a_customer(desk: Ledgerdesk) -> None:
    with pytest.raises(InvalidInput):
        desk.handle(RecordInbound(InboundMessage(channel="web", external_id="w1", sender="x",
                                  body="b")))
    result = desk.handle(RecordInbound(InboundMessage(
        channel="web", external_id="w1", sender="li@acme.cn", body="b", customer_code="ACME")))
    assert result.customer_code == "ACME"
    with pytest.raises(InvalidInput):
        desk.handle(RecordInbound(InboundMessage(channel="pigeon", external_id="1", sender="x",
                                  body="")))


def test_reply_delivery_lifecycle(desk: Ledgerdesk) -> None:
    ref = desk.handle(RecordInbound(email("<m1@acme.cn>"))).reference
    reply = desk.handle(QueueReply(ref, "请重启设备", actor=AGENT))
    desk.handle(MarkReplyFailed(ref, reply, "relay down", attempt=1, final=False))
    assert desk.service_request(ref).replies[reply] == "queued"
    desk.handle(MarkReplyDelivered(ref, reply, "<reply-1@desk>"))
    desk.handle(MarkReplyDelivered(ref, reply,
                                   "<reply-1@desk>"))  # a second confirmation is a no-op
    assert desk.service_request(ref).replies[reply] == "delivered"
    assert event_names(desk, ref)[-3:] == ["ReplyQueued", "ReplyDeliveryFailed", "ReplyDelivered"]
    with pytest.raises(InvalidTransition):
        desk.handle(MarkReplyFailed(ref, reply, "late", attempt=2, final=True))
    with pytest.raises(NotFound):
        desk.handle(MarkReplyDelivered(ref, "nope", "x"))
    with pytest.raises(InvalidInput):
        desk.handle(QueueReply(ref, "", actor=AGENT))


def test_calls_are_idempotent_by_call_id(desk: Ledgerdesk) -> None:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    first = desk.handle(LogCall("cti-1", "inbound", "+86 10 1111", start, actor="cti",
                          notes="客户报修", ended_at=start + timedelta(minutes=3)))
    assert first.new_request and first.customer_code.startswith("P-")
    again = desk.handle(LogCall("cti-1", "inbound", "+86 10 1111", start, actor="cti"))
    assert again.duplicate and again.reference == first.reference
    with pytest.raises(InvalidInput):
        desk.handle(LogCall("cti-2", "sideways", "1", start, actor="cti"))
    with pytest.raises(InvalidInput):
        desk.handle(LogCall("cti-3", "inbound", "1", start, actor="cti",
                            ended_at=start - timedelta(1)))
    onto = desk.handle(LogCall("cti-4", "outbound", "1390000", start, actor=AGENT,
                         reference=first.reference, customer_code="ACME"))
    assert onto.reference == first.reference


def test_fax_is_recorded_with_ocr_text(desk: Ledgerdesk) -> None:
    image = {"sha256": "a" * 64, "filename": "fax.tif", "content_type": "image/tiff", "size": 9}
    fax = FaxPage(external_id="f" * 64, sender_number="010-5555", image=image,
                  ocr_text="报修单\n型号 MX-3000", confidence=0.87, pages=1)
    result = desk.handle(RecordFax(fax))
    assert result.customer_code == "ACME" and result.new_request
    assert desk.service_request(result.reference).subject == "报修单"
    assert desk.handle(RecordFax(fax)).duplicate


def test_two_writers_on_one_request_both_land(store: Database, desk: Ledgerdesk) -> None:
    """Optimistic concurrency: the second writer's stale save conflicts, is retried
    on fresh state, and neither change is lost."""
    other = Ledgerdesk(env=event_store_env(store))
    try:
        ref = desk.handle(OpenRequest("ACME", "support", "x", actor=AGENT))
        stale = other.service_request(ref)  # other process loaded version 1
        desk.handle(AddNote(ref, "first", actor=AGENT))
        stale.add_note("written on stale state", [], actor="eng@desk.cn")
        with pytest.raises(IntegrityError):
            other.save(stale)  # the raw library refuses the stale write...
        # ...the command retries and lands:
        other.handle(AddNote(ref, "second", actor="eng@desk.cn"))
        assert event_names(desk, ref).count("NoteAdded") == 2
    finally:
        other.close()


def test_expected_version_refuses_a_stale_change(desk: Ledgerdesk) -> None:
    ref = desk.handle(OpenRequest("ACME", "support", "x", actor=AGENT))
    version = desk.service_request(ref).version
    desk.handle(AddNote(ref, "someone else was quicker", actor="eng@desk.cn"))
    with pytest.raises(ConcurrentChange, match="reload"):
        desk.handle(ChangeStatus(ref, "pending_customer", actor=AGENT, expected_version=version))
    assert desk.service_request(ref).status == "new"


def test_concurrent_redelivery_from_two_threads_records_once(store: Database) -> None:
    """Two workers (separate applications, as separate processes would have) race
    to record the same 30 messages; each message is recorded exactly once."""
    apps = [Ledgerdesk(env=event_store_env(store)) for _ in range(2)]
    try:
        apps[0].handle(RegisterCustomer("ACME", "Acme", actor="admin",
                                  identities=[("email", "li@acme.cn")]))
        messages = [email(f"<race-{i}@acme.cn>") for i in range(30)]
        outcomes: list[list[bool]] = [[], []]
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                barrier.wait()
                for message in messages:
                    outcomes[n].append(apps[n].handle(RecordInbound(message)).duplicate)
            except BaseException as e:  # surfaced below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        # Each message: exactly one worker recorded it, the other saw a duplicate.
        assert all(a != b for a, b in zip(outcomes[0], outcomes[1], strict=True))
        received = [
            n for n in apps[0].recorder.select_notifications(start=1, limit=10_000)
            if n.topic.endswith("ServiceRequest.MessageReceived")
        ]
        assert len(received) == 30
    finally:
        for application in apps:
            application.close()


def test_a_delivery_receipt_is_not_a_change_an_agent_missed(desk: Ledgerdesk) -> None:
    ref = desk.handle(RecordInbound(email("<v1@acme.cn>"))).reference
    reply = desk.handle(QueueReply(ref, "已收到", actor=AGENT))
    seen = desk.service_request(ref).version  # the page the agent loaded
    desk.handle(MarkReplyFailed(ref, reply, "relay busy", attempt=1, final=False))
    desk.handle(MarkReplyDelivered(ref, reply, "<r@desk>"))
    desk.handle(AddNote(ref, "receipts only since: accepted", actor=AGENT, expected_version=seen))
    with pytest.raises(ConcurrentChange):  # the note above is a real change
        desk.handle(AddNote(ref, "now stale", actor=AGENT, expected_version=seen))
    with pytest.raises(ConcurrentChange):  # a version from the future is no version
        desk.handle(AddNote(ref, "x", actor=AGENT,
                            expected_version=desk.service_request(ref).version + 5))
