"""Commands the SLA timers issue.  Each names the deadline it is about, so
handling one twice (a timer run again after a crash, two processes racing)
records it once: the request keeps a mark per kind, target and due time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

TIMER_ACTOR = "system:sla"


@dataclass(frozen=True)
class WarnSla:
    """`target`: first_response, next_response or resolution."""

    reference: str
    target: str
    due_at: datetime
    actor: str = TIMER_ACTOR


@dataclass(frozen=True)
class BreachSla:
    """Records SlaBreached and escalates the request, with a reason naming the target."""

    reference: str
    target: str
    due_at: datetime
    actor: str = TIMER_ACTOR


@dataclass(frozen=True)
class MissHandover:
    """Nobody took a hotline request in time: escalate, towards `escalate_to`."""

    reference: str
    due_at: datetime
    escalate_to: str = "team:coordinators"
    actor: str = TIMER_ACTOR


@dataclass(frozen=True)
class PassEscalationDeadline:
    """An escalation's `due_at` passed unsolved: one level up."""

    reference: str
    due_at: datetime
    actor: str = TIMER_ACTOR
