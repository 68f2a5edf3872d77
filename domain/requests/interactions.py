"""Recording what customers send, on any channel: one shape for every interaction.

Find the sender and the request (creating a provisional customer or a new
request when needed), apply the interaction, record the contact on the
customer, and save it all with the receipt that makes it idempotent by
(channel, the channel's own id).  Threading is decided here, from the
domain's own index aggregates, so a channel only reports what it saw.

Who may join a thread: what a channel found in a message (an `[SR-…]` in a
subject, an In-Reply-To, a reference read from a fax) is only a claim, and
references are sequential, so anyone can guess one.  A claimed request is
continued only when the sender is known to it: an identity of its customer,
an address of one of that customer's contacts, or the request's original
sender.  Anyone else opens a request of their own, which records the claim
(`ReferenceClaimed`) for an agent to judge.  A request named outright (by a
signed-in customer, or an agent logging a call) is trusted: the entry point
has already checked that the caller may see it.
"""

from __future__ import annotations

from collections.abc import Callable

from eventsourcing.persistence import IntegrityError

from domain import ids, phones
from domain.aggregates.contact import CustomerContact
from domain.aggregates.customer import Customer
from domain.aggregates.receipt import InboundReceipt
from domain.aggregates.service_request import ServiceRequest
from domain.commands import Handlers
from domain.customers.handlers import (
    checked_identity,
    claim_identity,
    customer_by_identity,
    load_customer,
)
from domain.errors import InvalidInput, invalid
from domain.requests.commands import InboundMessage, LogCall, Recorded, RecordInbound
from domain.requests.lookup import find_request, load_request
from domain.requests.opening import first_line, new_request, summary
from domain.store import Pending, Store
from domain.vocabulary import CALL_DIRECTIONS, CHANNELS, REQUEST_TYPES, require_one_of

handlers = Handlers()

# The identity kind a sender on each channel is recognised by.  Web and chat
# senders are signed-in users, so they arrive with their customer code instead.
SENDER_IDENTITY_KIND = {"email": "email", "fax": "fax", "phone": "phone", "telegram": "telegram"}


@handlers(RecordInbound)
def record_inbound(store: Store, c: RecordInbound) -> Recorded:
    apply, who, subject = inbound_parts(store, c.message, c.actor)
    return record_interaction(store, c.message, apply, who, kind="message", direction="inbound",
                              subject=subject)


def inbound_parts(
    store: Store, message: InboundMessage, actor: str | None
) -> tuple[Callable[[ServiceRequest], None], str, str]:
    """A received message checked: how it changes its request, who recorded it, its subject."""
    require_one_of(message.channel, CHANNELS, "channel")
    require_one_of(message.request_type, REQUEST_TYPES, "type")
    occurred_at = message.occurred_at or store.clock.now()
    who = actor or f"{message.channel}:{message.sender}"

    def apply(request: ServiceRequest) -> None:
        request.receive_message(
            channel=message.channel, external_id=message.external_id, sender=message.sender,
            subject=message.subject, body=message.body, attachments=list(message.attachments),
            occurred_at=occurred_at, actor=who,
            details=dict(message.details, sender_name=message.sender_name),
            automatic=message.automatic,
        )

    return apply, who, message.subject or first_line(message.body)


@handlers(LogCall)
def log_call(store: Store, c: LogCall) -> Recorded:
    require_one_of(c.direction, CALL_DIRECTIONS, "direction")
    if not c.number.strip():
        raise invalid("number", "number must not be empty")
    try:
        phones.normalise_number(c.number)
    except phones.UnparsableNumber:
        raise invalid("number", f"{c.number!r} is not a phone number") from None
    if c.ended_at is not None and c.ended_at < c.started_at:
        raise invalid("ended_at", "a call cannot end before it starts")
    message = InboundMessage(
        channel="phone", external_id=c.call_id, sender=c.number, body=c.notes,
        reference=c.reference, customer_code=c.customer_code, occurred_at=c.started_at,
    )

    def apply(request: ServiceRequest) -> None:
        request.log_call(
            call_id=c.call_id, direction=c.direction, number=c.number, agent=c.agent,
            started_at=c.started_at, ended_at=c.ended_at, notes=c.notes, actor=c.actor,
        )

    preposition = "from" if c.direction == "inbound" else "to"
    return record_interaction(store, message, apply, c.actor, kind="call", direction=c.direction,
                   subject=first_line(c.notes) or f"Call {preposition} {c.number}")


def record_interaction(
    store: Store,
    message: InboundMessage,
    apply: Callable[[ServiceRequest], None],
    actor: str,
    *,
    kind: str,
    direction: str,
    subject: str,
) -> Recorded:
    if not message.external_id:
        raise invalid("external_id", f"a {kind} needs its channel's id")

    def attempt() -> Recorded:
        pending = Pending()
        recorded = build_interaction(store, pending, message, apply, actor, kind=kind,
                                     direction=direction, subject=subject)
        try:
            store.save(pending)
        except IntegrityError:
            # Either another worker recorded this very message (then say so), or
            # a stream we touched moved on (then the retry tries again).  The
            # receipt is not looked up beforehand: duplicates are rare, and the
            # atomic save is what guarantees "once" anyway.
            seen = receipt_of(store, message.channel, message.external_id)
            if seen is not None:
                return seen
            raise
        return recorded

    return store.retrying(attempt)


def build_interaction(
    store: Store,
    pending: Pending,
    message: InboundMessage,
    apply: Callable[[ServiceRequest], None],
    actor: str,
    *,
    kind: str,
    direction: str,
    subject: str,
) -> Recorded:
    """Apply one interaction to the aggregates it touches, added to `pending`
    for the caller to save (alone, or with a whole batch: domain.requests.batch)."""
    occurred_at = message.occurred_at or store.clock.now()
    threaded = _thread(store, message)
    claimed: str | None = None
    vetted = bool(message.reference or message.customer_code)
    if threaded is not None and not vetted and _known_sender(store, threaded, message) is None:
        claimed, threaded = threaded.reference, None
    customer, new_customer = _sender(store, pending, message, actor, threaded)
    automatic = message.automatic
    if threaded is not None and (threaded.status != "closed" or automatic):
        # An auto-reply (out of office...) is kept on its thread as it is:
        # nobody wrote again, so nothing is reopened or started.
        request, new = threaded, False
        if request.status == "resolved" and not automatic:
            request.reopen(reason="the customer wrote again", actor=actor)
    else:
        # A message about a closed request starts a new one that points back.
        request, new = new_request(
            store, pending, customer, message.request_type, message.channel,
            subject or "(no subject)", message.body, actor,
            follow_up_of=threaded.reference if threaded is not None else None,
        ), True
        if claimed is not None:
            request.record_claim(claimed=claimed, sender=message.sender, actor=actor)
    apply(request)
    contact = CustomerContact(
        customer_code=customer.code, channel=message.channel,
        external_id=message.external_id, direction=direction, kind=kind,
        reference=request.reference, summary=summary(message.subject, message.body),
        occurred_at=occurred_at, actor=actor,
    )
    receipt = InboundReceipt(
        channel=message.channel, external_id=message.external_id,
        reference=request.reference, customer_code=customer.code, actor=actor,
    )
    # The customer is saved too, but has new events only when this message
    # made them (a new provisional customer): an existing customer's stream
    # is not written per interaction, nor per new request.
    pending.add(request, customer, contact, receipt)
    return Recorded(request.reference, customer.code, new_request=new,
                    new_customer=new_customer)


def receipt_of(store: Store, channel: str, external_id: str) -> Recorded | None:
    receipt = store.find(InboundReceipt, *ids.receipt_ids(channel, external_id))
    if receipt is None:
        return None
    return Recorded(receipt.reference, receipt.customer_code, duplicate=True)


def _thread(store: Store, message: InboundMessage) -> ServiceRequest | None:
    """The request this message continues: one named outright must exist; the
    channel's softer hints are tried in order and skipped when unknown."""
    if message.reference:
        return load_request(store, message.reference)
    for hint in message.thread_hints:
        if ids.REFERENCE_PATTERN.match(hint):
            reference: str | None = hint
        else:
            receipt = store.find(InboundReceipt, *ids.receipt_ids(message.channel, hint))
            reference = receipt.reference if receipt is not None else None
        found = find_request(store, reference) if reference else None
        if found is not None:
            return found
    return None


def _sender(
    store: Store,
    pending: Pending,
    message: InboundMessage,
    actor: str,
    threaded: ServiceRequest | None,
) -> tuple[Customer, bool]:
    """The customer a message comes from, creating a provisional one for a
    stranger.  On a thread the sender was vetted (or the thread named by a
    trusted caller): the message belongs to the request's customer."""
    if message.customer_code:
        customer = load_customer(store, message.customer_code)
    elif threaded is not None:
        customer = load_customer(store, threaded.customer_code)
    else:
        kind = SENDER_IDENTITY_KIND.get(message.channel)
        if message.channel == "chat":  # a web chat visitor gives an address or a number
            kind = "email" if "@" in message.sender else "phone"
        if kind is None:
            raise invalid("customer_code", f"{message.channel} messages need a customer")
        kind, value = checked_identity(kind, message.sender)
        found = customer_by_identity(store, kind, value)
        if found is None:
            return provisional_customer(store, pending, kind, value, message.sender_name,
                                        actor), True
        customer = found
    if customer.merged_into:
        customer = load_customer(store, customer.merged_into)
    pending.add(customer)
    return customer, False


def _known_sender(
    store: Store, request: ServiceRequest, message: InboundMessage
) -> Customer | None:
    """The request's customer when the sender is someone that request knows."""
    kind = SENDER_IDENTITY_KIND.get(message.channel)
    if kind is None:
        return None
    try:
        kind, value = checked_identity(kind, message.sender)
    except InvalidInput:
        return None
    owner = load_customer(store, request.customer_code)
    if owner.merged_into:
        owner = load_customer(store, owner.merged_into)
    if (owner.has_identity(kind, value) or _is_contact(owner, kind, value)
            or _original_sender(store, request, kind) == value):
        return owner
    return None


def _is_contact(customer: Customer, kind: str, value: str) -> bool:
    for details in customer.contacts.values():
        for detail in details.values():
            try:
                if isinstance(detail, str) and checked_identity(kind, detail)[1] == value:
                    return True
            except InvalidInput:
                continue
    return False


def _original_sender(store: Store, request: ServiceRequest, kind: str) -> str | None:
    """Who wrote the message that opened the request (its second event, when
    a message opened it), normalised like an identity."""
    for event in store.events(request.id, limit=3):
        sender = getattr(event, "sender", None) or getattr(event, "sender_number", None)
        if isinstance(sender, str):
            try:
                return checked_identity(kind, sender)[1]
            except InvalidInput:
                return None
    return None


def provisional_customer(
    store: Store, pending: Pending, kind: str, value: str, name: str, actor: str
) -> Customer:
    """A new provisional customer for a stranger known by one identity (also used
    when an agent files a fax under the number it came from, domain.requests.fax)."""
    # The code is derived from the identity, so two workers meeting the same
    # stranger at once create one customer: the second save conflicts and retries.
    code = "P-" + ids.identity_id(kind, value).hex[:10].upper()
    # A stranger whose provisional customer was erased is a stranger again,
    # under a code of their own: the erased one stays erased.
    attempt = 1
    while (earlier := store.get(Customer, ids.customer_id(code))) is not None and earlier.erased:
        attempt += 1
        code = f"P-{ids.identity_id(kind, value).hex[:10].upper()}-{attempt}"
    customer = Customer(
        code=code, name=name or value,
        kind="person", classification="provisional", actor=actor, provisional=True,
    )
    pending.add(customer)
    claim_identity(store, pending, customer, kind, value, actor)
    return customer
