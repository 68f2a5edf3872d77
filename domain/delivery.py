"""The port between the outbox and the channels: what a `Sender` is given and
what it may answer.

The delivery policy (policies.delivery) reads due messages from the outbox read
model and hands each to the sender of its channel; the channel adapters
(channels.*) implement `Sender`.  Both depend on this module, not on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final, Protocol


@dataclass(frozen=True)
class Outbound:
    """One message to deliver: a reply or an automatic answer on one request."""

    reply_id: str
    reference: str
    customer_code: str
    channel: str
    kind: str  # "reply" or "acknowledgement"
    subject: str  # the request's subject
    body: str
    attachments: Sequence[dict[str, Any]] = ()
    recipient: str | None = None  # None: the sender answers the thread below
    # What the channel needs to continue the customer's thread, taken from the
    # customer's latest message on this channel (email: message_id, references;
    # Telegram: chat and message ids).
    thread: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1
    # Answer buttons under the message, rows of (label, callback data): a
    # survey's scores on Telegram (policies.survey adds them at send time).
    buttons: Sequence[Sequence[tuple[str, str]]] = ()


class DeliveryError(Exception):
    """The sender could not deliver.  `final`: retrying cannot help (an address
    refused, no recipient at all); otherwise the policy tries again later."""

    def __init__(self, message: str, *, final: bool = False) -> None:
        super().__init__(message)
        self.final = final


class Sender(Protocol):
    channel: str

    async def send(self, message: Outbound) -> str:
        """Deliver `message`; return the channel's own id for it (a Message-ID,
        a Telegram message id).  Raise DeliveryError when it did not go out."""
        ...


# The delivery schedule every channel shares: waits after the 1st, 2nd, 3rd and
# 4th failed attempt; the 5th failure is final.  The outbox view computes each
# next attempt from the failure's own timestamp, so a rebuilt view schedules
# exactly what the live one did.
RETRY_DELAYS: Final = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
)
MAX_ATTEMPTS: Final = len(RETRY_DELAYS) + 1

# The actor of automatic acknowledgements (policies.acknowledge); the outbox
# marks their rows so a sender can word them as automatic mail.  Whether a reply
# counts as an answer is the event's own `automatic` flag, not its actor: a
# survey will be automatic too.
ACKNOWLEDGEMENT_ACTOR: Final = "system:acknowledgement"
# ...and the name earlier versions recorded, which stored events still carry
# (ReplyQueued events from before the flag are upcast by these names).
ACKNOWLEDGEMENT_ACTORS: Final = (ACKNOWLEDGEMENT_ACTOR, "system:email-acknowledgement")
# The actor of satisfaction surveys (policies.survey); the outbox gives their
# rows the kind "survey", which gets its links or buttons when it is sent.
SURVEY_ACTOR: Final = "system:survey"


def retry_delay(attempt: int) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1-based)."""
    return RETRY_DELAYS[min(max(attempt, 1), len(RETRY_DELAYS)) - 1]
