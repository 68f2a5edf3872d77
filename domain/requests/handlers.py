"""Handlers of the service-requests context: opening, replies, notes and agent actions.

Inbound interactions (messages, faxes, calls) share one recording path in
domain.requests.interactions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from domain.aggregates.contact import CustomerContact
from domain.aggregates.service_request import ServiceRequest
from domain.aggregates.team import TEAM_PREFIX
from domain.commands import Handlers
from domain.customers.handlers import load_customer
from domain.errors import ConcurrentChange, NotFound, invalid
from domain.requests.commands import (
    AddNote,
    Assign,
    ChangePriority,
    ChangeStatus,
    Escalate,
    HandOver,
    MarkReplyDelivered,
    MarkReplyFailed,
    OpenRequest,
    QueueReply,
    RateSatisfaction,
    RecordBounce,
    Recorded,
    Transfer,
    Urge,
)
from domain.requests.lookup import load_request
from domain.requests.opening import new_request, summary
from domain.requests.routing import route_reply
from domain.store import Pending, Store
from domain.teams.handlers import load_team
from domain.users.handlers import load_user
from domain.vocabulary import (
    CHANNELS,
    PRIORITIES,
    REQUEST_TYPES,
    STAFF_ROLES,
    STATUSES,
    require_one_of,
)

handlers = Handlers()


def change_request(
    store: Store,
    reference: str,
    change: Callable[[ServiceRequest], list[Aggregate] | None],
    expected_version: int | None = None,
) -> None:
    """Load the request, apply `change` (which may return other aggregates it
    changed) and save them together, retrying on a race unless the caller
    pinned the version it saw."""

    def attempt() -> None:
        request = load_request(store, reference)
        if expected_version is not None and request.version != expected_version \
                and not only_receipts_since(store, request, expected_version):
            raise ConcurrentChange(
                f"{reference} changed since you loaded it (version {expected_version}, "
                f"now {request.version}); reload and try again"
            )
        others = change(request) or []
        store.save(Pending([request, *others]))

    store.retrying(attempt)


# What happens to a request without anyone acting on it: a reply going out (or
# failing to, for now).  An agent who loaded the page before a receipt has
# missed nothing they would write differently, so it is not a concurrent change.
RECEIPTS = ("ReplyDelivered", "ReplyDeliveryFailed")


def only_receipts_since(store: Store, request: ServiceRequest, version: int) -> bool:
    """Whether every event after `version` is a delivery receipt."""
    if version > request.version or version < 1:
        return False
    later = store.app.repository.event_store.get(request.id, gt=version)
    return all(type(event).__name__ in RECEIPTS for event in later)


@handlers(OpenRequest)
def open_request(store: Store, c: OpenRequest) -> str:
    require_one_of(c.request_type, REQUEST_TYPES, "type")
    require_one_of(c.channel, CHANNELS, "channel")
    require_one_of(c.priority, PRIORITIES, "priority")
    if not c.subject.strip():
        raise invalid("subject", "subject must not be empty")
    # The product is kept as written, whether or not it names a registered unit
    # (hotline callers often do not know the serial).  A serial registered to
    # another customer is answered the same as an unknown one, so nobody learns
    # whose units are whose; it just joins no unit's history (projections.customers).
    product = (c.product or "").strip() or None

    def attempt() -> str:
        customer = load_customer(store, c.customer_code)
        customer.require_active()
        pending = Pending()
        request = new_request(
            store, pending, customer, c.request_type, c.channel, c.subject.strip(),
            c.description, c.actor, priority=c.priority, product=product,
        )
        store.save(pending)
        return request.reference

    return store.retrying(attempt)


@handlers(QueueReply)
def queue_reply(store: Store, c: QueueReply) -> str:
    reply_id = c.reply_id or uuid.uuid4().hex

    def change(request: ServiceRequest) -> list[Aggregate]:
        customer = load_customer(store, request.customer_code)
        route = route_reply(customer, request.channel, c.channel, store.reply_channels)
        request.queue_reply(reply_id, c.body, list(c.attachments), route.recipient, c.actor,
                            channel=route.channel, automatic=c.automatic)
        return [CustomerContact(
            # Reply ids are unique per request; the reference makes the record's id unique.
            customer_code=customer.code, channel=route.channel,
            external_id=f"{c.reference}/{reply_id}",
            direction="outbound", kind="reply", reference=c.reference,
            summary=summary("", c.body), occurred_at=store.clock.now(), actor=c.actor,
        )]

    change_request(store, c.reference, change, c.expected_version)
    return reply_id


@handlers(MarkReplyDelivered)
def mark_reply_delivered(store: Store, c: MarkReplyDelivered) -> None:
    change_request(store, c.reference,
                   lambda r: r.mark_delivered(c.reply_id, c.external_id, c.actor))


@handlers(MarkReplyFailed)
def mark_reply_failed(store: Store, c: MarkReplyFailed) -> None:
    change_request(store, c.reference, lambda r: r.mark_delivery_failed(
        c.reply_id, c.error, c.attempt, c.final, c.actor))


@handlers(RecordBounce)
def record_bounce(store: Store, c: RecordBounce) -> Recorded:
    """NotFound when the request or the reply is unknown: the caller then keeps
    the bounce some other way.  Only the request is written: a bounce is a
    delivery outcome, not something the customer did."""
    if not c.external_id:
        raise invalid("external_id", "a bounce needs its channel's id")
    if not c.reason.strip():
        raise invalid("reason", "say why the reply bounced")
    outcome: list[Recorded] = []

    def change(request: ServiceRequest) -> None:
        new = request.record_bounce(c.reply_id, c.reason, c.external_id, dict(c.details),
                                    c.actor)
        outcome[:] = [Recorded(request.reference, request.customer_code, duplicate=not new)]

    change_request(store, c.reference, change)
    return outcome[0]


@handlers(AddNote)
def add_note(store: Store, c: AddNote) -> None:
    change_request(store, c.reference, lambda r: r.add_note(c.body, list(c.attachments), c.actor),
                   c.expected_version)


@handlers(Assign)
def assign(store: Store, c: Assign) -> None:
    staff = load_user(store, c.assignee)
    if not any(role in STAFF_ROLES for role in staff.roles):
        raise invalid("agent", f"{c.assignee} is not an agent or engineer")
    change_request(store, c.reference, lambda r: r.assign(staff.email, c.actor, c.reason),
                   c.expected_version)


def _transfer_change(store: Store, to: str, reason: str,
                     actor: str) -> Callable[[ServiceRequest], None]:
    """What a transfer to `to` does to a request: checked once, before loading it."""
    if not reason.strip():
        raise invalid("reason", "say why the request is transferred")
    target = to.strip()
    if target.lower().startswith(TEAM_PREFIX):
        code = target[len(TEAM_PREFIX):].strip()
        try:
            team = load_team(store, code)
        except NotFound:
            raise NotFound(f"there is no team {code!r} to transfer to") from None
        return lambda r: r.transfer_to_team(team.code, reason, actor)
    try:
        staff = load_user(store, target)
    except NotFound:
        raise NotFound(f"there is no user {target!r} to transfer to (a team is team:CODE)"
                       ) from None
    if not staff.active or not any(role in STAFF_ROLES for role in staff.roles):
        raise invalid("to", f"{staff.email} is not an active member of staff")
    return lambda r: r.assign(staff.email, actor, reason)


@handlers(Transfer)
def transfer(store: Store, c: Transfer) -> None:
    change_request(store, c.reference, _transfer_change(store, c.to, c.reason, c.actor),
                   c.expected_version)


# Events after which a request may be held by someone (read from the log: the
# domain reads no read model).
_HOLDING_EVENTS = ("Assigned", "Transferred")
HOLDING_SCAN_PAGE = 1000


def held_by(store: Store, email: str) -> list[str]:
    """The open requests `email` is assigned now, each checked on its aggregate."""
    recorder = store.app.recorder
    topics = [get_topic(getattr(ServiceRequest, name)) for name in _HOLDING_EVENTS]
    candidates: dict[uuid.UUID, None] = {}
    position = 0
    while True:
        page = recorder.select_notifications(position, HOLDING_SCAN_PAGE, topics=topics,
                                             inclusive_of_start=False)
        for notification in page:
            candidates[uuid.UUID(str(notification.originator_id))] = None
        if len(page) < HOLDING_SCAN_PAGE:
            break
        position = page[-1].id
    held: list[str] = []
    for request_id in candidates:
        request = store.get(ServiceRequest, request_id)
        if request is not None and request.is_open and request.assignee == email:
            held.append(request.reference)
    return sorted(held)


@handlers(HandOver)
def hand_over(store: Store, c: HandOver) -> int:
    holder = load_user(store, c.holder)
    change = _transfer_change(store, c.to, c.reason, c.actor)
    if c.to.strip().lower() == holder.email:
        raise invalid("to", "hand over to someone else")
    moved: list[str] = []
    for reference in held_by(store, holder.email):
        def still_held(r: ServiceRequest) -> None:
            if r.assignee == holder.email and r.is_open:  # not moved meanwhile
                change(r)
                moved.append(r.reference)
        change_request(store, reference, still_held)
    return len(set(moved))


@handlers(Urge)
def urge(store: Store, c: Urge) -> None:
    if not c.message.strip():
        raise invalid("message", "say what the urge is about")
    change_request(store, c.reference, lambda r: r.urge(c.message, c.actor), c.expected_version)


@handlers(ChangeStatus)
def change_status(store: Store, c: ChangeStatus) -> None:
    require_one_of(c.status, STATUSES, "status")
    if c.status == "new":
        raise invalid("status", "a request cannot go back to new")
    change_request(store, c.reference, lambda r: r.change_status(c.status, c.actor, c.reason),
                   c.expected_version)


@handlers(Escalate)
def escalate(store: Store, c: Escalate) -> None:
    if not c.reason.strip():
        raise invalid("reason", "say why the request is escalated")
    change_request(store, c.reference,
                   lambda r: r.escalate(c.reason, c.actor, c.level, c.due_at),
                   c.expected_version)


@handlers(ChangePriority)
def change_priority(store: Store, c: ChangePriority) -> None:
    require_one_of(c.priority, PRIORITIES, "priority")
    change_request(store, c.reference, lambda r: r.change_priority(c.priority, c.actor))


@handlers(RateSatisfaction)
def rate_satisfaction(store: Store, c: RateSatisfaction) -> None:
    change_request(store, c.reference,
                   lambda r: r.rate_satisfaction(c.score, c.comment, c.actor, c.resolution),
                   c.expected_version)
