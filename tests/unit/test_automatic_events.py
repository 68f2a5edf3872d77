"""Events that say whether a message or reply was automatic, old streams included.

Stored events are dicts the library turns back into objects without calling their
constructor, so the new `automatic` and `opened_request` fields come from upcasters for
events written before they existed. Those old events are rebuilt here by writing the
version-1 form into a store and reading the stream back.
"""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import Mapper, StoredEvent

from domain.aggregates.service_request import ServiceRequest
from domain.application import Ledgerdesk
from domain.delivery import ACKNOWLEDGEMENT_ACTORS
from domain.errors import NotFound

NEW_FIELDS = {"MessageReceived": ("automatic", "opened_request"), "ReplyQueued": ("automatic",)}


def new_request() -> ServiceRequest:
    return ServiceRequest(
        reference="SR-000001", customer_code="ACME", request_type="support", channel="email",
        subject="s", description="d", priority="normal", product=None, actor="email:a@b.cn",
    )


def receive(request: ServiceRequest, external_id: str, automatic: bool = False,
            **details: Any) -> None:
    request.receive_message(
        channel="email", external_id=external_id, sender="a@b.cn", subject="s", body="b",
        attachments=[], occurred_at=request.modified_on, actor="email:a@b.cn", details=details,
        automatic=automatic,
    )


def test_a_message_knows_whether_it_opened_the_request() -> None:
    request = new_request()
    receive(request, "<1@b.cn>")
    [_, first] = request.collect_events()  # saved with Opened, in one write
    receive(request, "<2@b.cn>")
    [second] = request.collect_events()
    assert (first.opened_request, second.opened_request) == (True, False)


def test_an_automatic_message_does_not_reopen_the_conversation() -> None:
    request = new_request()
    request.change_status("pending_customer", actor="agent")
    receive(request, "<ooo@b.cn>", automatic=True)
    assert request.status == "pending_customer"
    receive(request, "<person@b.cn>")
    assert request.status == "open"


def test_a_bounce_fails_a_known_reply_once() -> None:
    request = new_request()
    request.queue_reply("r1", "hello", [], "a@b.cn", "agent")
    request.mark_delivered("r1", "<reply-r1.SR-000001@desk>", "system")
    assert request.record_bounce("r1", "550 no such user", "<dsn@mx>", {}, "email:x") is True
    assert request.replies["r1"] == "failed"
    assert request.record_bounce("r1", "550 no such user", "<dsn@mx>", {}, "email:x") is False
    with pytest.raises(NotFound):
        request.record_bounce("r2", "550", "<dsn2@mx>", {}, "email:x")


def as_version_1(app: Ledgerdesk, event: Any) -> StoredEvent:
    """`event` stored as the code before the automatic fields wrote it (in clear:
    personal fields were not yet sealed either)."""
    stored = Mapper(app.mapper.transcoder).to_stored_event(event)
    state = app.mapper.transcoder.decode(stored.state)
    for name in NEW_FIELDS.get(type(event).__name__, ()):
        del state[name]
    state.pop("class_version", None)
    return StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                       app.mapper.transcoder.encode(state))


def test_events_written_before_the_automatic_fields_still_load_with_the_right_flags() -> None:
    writer = Ledgerdesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    request = new_request()
    receive(request, "<opening@b.cn>")
    request.queue_reply("ack", "we have it", [], "a@b.cn", ACKNOWLEDGEMENT_ACTORS[-1])
    receive(request, "<ooo@b.cn>", auto_reply="Auto-Submitted: auto-replied")
    receive(request, "<dsn@b.cn>", bounce=True)
    request.queue_reply("r1", "answer", [], "a@b.cn", "agent@desk.cn")
    old = [as_version_1(writer, e) for e in request.collect_events()]

    reader = Ledgerdesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    reader.recorder.insert_events(old)
    events = list(reader.events.get(request.id))
    messages = [e for e in events if isinstance(e, ServiceRequest.MessageReceived)]
    replies = [e for e in events if isinstance(e, ServiceRequest.ReplyQueued)]
    assert [(m.automatic, m.opened_request) for m in messages] == [
        (False, True), (True, False), (True, False)]
    assert [r.automatic for r in replies] == [True, False]
    assert reader.repository.get(request.id).replies == {"ack": "queued", "r1": "queued"}
