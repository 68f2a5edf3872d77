"""Recording a batch of received messages in one atomic save.

Channels that receive in bulk (an IMAP fetch of up to 50 messages, a page of
Telegram updates) record the whole batch with one write: one transaction and
one commit instead of one per message, which is most of what recording costs.
Idempotency stays per message:

- a message whose receipt is already in the store (a redelivery, or the part
  of a batch recorded before a crash) comes back as a duplicate, and the rest
  of the batch is recorded;
- the same message twice in one batch is recorded once, the second a duplicate;
- a message the domain refuses (an unknown reference, a bad channel) gets its
  error, and the others are recorded.

How: every message is applied in turn to the same aggregates (a second message
to one request appends to it; a reply to a message earlier in the batch finds
its receipt, held by the command: domain.cache).  A refused message abandons
what was built so far, and the batch is built again without it.  When the save
conflicts, the receipts of the batch are looked up: those found are duplicates
and the batch is built again without them; when none is found, another writer
moved a stream on and the store's retry starts again on fresh state.  Anything
else going wrong in the save (an erased customer's key, say) falls back to
recording the messages one at a time, so that one bad message fails alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventsourcing.persistence import IntegrityError

from domain.commands import Handlers
from domain.errors import DomainError, invalid
from domain.requests.commands import InboundMessage, Recorded, RecordInbound
from domain.requests.interactions import (
    build_interaction,
    inbound_parts,
    receipt_of,
    record_inbound,
)
from domain.store import Pending, Store

handlers = Handlers()

# An IMAP fetch is 50 messages; a bigger batch is refused rather than held in one
# transaction for long.
MAX_BATCH = 500


@dataclass(frozen=True)
class RecordInboundBatch:
    """Several received messages, recorded together (each once)."""

    messages: tuple[InboundMessage, ...]
    actor: str | None = None


# Per message, in the batch's order: what was recorded, or why it was refused.
Outcome = Recorded | DomainError


@handlers(RecordInboundBatch)
def record_inbound_batch(store: Store, c: RecordInboundBatch) -> list[Outcome]:
    if len(c.messages) > MAX_BATCH:
        raise invalid("messages", f"at most {MAX_BATCH} messages in one batch")
    outcomes: dict[int, Outcome] = {}
    first_of: dict[tuple[str, str], int] = {}
    copies: dict[int, int] = {}  # a message seen earlier in the batch -> that one
    for i, message in enumerate(c.messages):
        if not message.external_id:
            outcomes[i] = invalid("external_id", "a message needs its channel's id")
            continue
        key = (message.channel, message.external_id)
        if key in first_of:
            copies[i] = first_of[key]
        else:
            first_of[key] = i

    def attempt() -> None:
        while True:
            todo = [i for i in range(len(c.messages)) if i not in outcomes and i not in copies]
            if not todo:
                return
            pending = Pending()
            built: dict[int, Recorded] = {}
            refused = False
            for i in todo:
                already = len(pending.aggregates)
                try:
                    apply, who, subject = inbound_parts(store, c.messages[i], c.actor)
                    built[i] = build_interaction(store, pending, c.messages[i], apply, who,
                                                 kind="message", direction="inbound",
                                                 subject=subject)
                except DomainError as error:
                    outcomes[i] = error
                    refused = True
                    break
                if not store.hold(pending.aggregates[already:]):
                    raise _OneByOne
            if refused:
                store.abandon()
                continue
            try:
                store.save(pending)
            except IntegrityError:
                seen = {i: r for i in built
                        if (r := receipt_of(store, c.messages[i].channel,
                                            c.messages[i].external_id)) is not None}
                if not seen:
                    raise  # a race on a stream: the store retries on fresh state
                outcomes.update(seen)
                continue
            outcomes.update(built)
            return

    try:
        store.retrying(attempt)
    except (_OneByOne, DomainError):
        for i in range(len(c.messages)):
            if i not in outcomes and i not in copies:
                outcomes[i] = _one(store, c.messages[i], c.actor)
    for i, original in copies.items():
        done = outcomes[original]
        outcomes[i] = (Recorded(done.reference, done.customer_code, duplicate=True)
                       if isinstance(done, Recorded) else done)
    return [outcomes[i] for i in range(len(c.messages))]


class _OneByOne(Exception):
    """This store cannot hold a batch's new aggregates: record one at a time."""


def _one(store: Store, message: InboundMessage, actor: str | None) -> Outcome:
    try:
        recorded: Recorded = record_inbound(store, RecordInbound(message, actor=actor))
        return recorded
    except DomainError as error:
        return error
