"""Handlers of the SLA timers' commands.  Each returns True when it recorded
something and False when there was nothing to do (already recorded, the
request solved or taken meanwhile): a timer acting on a read model that lags
the log must be able to ask twice without doubling anything."""

from __future__ import annotations

from collections.abc import Callable

from domain.aggregates.service_request import ServiceRequest
from domain.commands import Handlers
from domain.errors import invalid
from domain.requests.lookup import load_request
from domain.sla.commands import BreachSla, MissHandover, PassEscalationDeadline, WarnSla
from domain.sla.policy import TARGETS
from domain.store import Pending, Store

handlers = Handlers()

TARGET_NAMES = {"first_response": "first response", "next_response": "next response",
                "resolution": "resolution"}


def _apply(store: Store, reference: str, step: Callable[[ServiceRequest], bool]) -> bool:
    def attempt() -> bool:
        request = load_request(store, reference)
        changed = step(request)
        if changed:
            store.save(Pending([request]))
        return changed

    return store.retrying(attempt)


def _target(target: str) -> None:
    if target not in TARGETS:
        raise invalid("target", f"must be one of {', '.join(TARGETS)}")


@handlers(WarnSla)
def warn(store: Store, c: WarnSla) -> bool:
    _target(c.target)
    return _apply(store, c.reference,
                  lambda r: r.record_sla("warned", c.target, c.due_at, c.actor))


@handlers(BreachSla)
def breach(store: Store, c: BreachSla) -> bool:
    _target(c.target)

    def step(r: ServiceRequest) -> bool:
        if not r.record_sla("breached", c.target, c.due_at, c.actor):
            return False
        r.escalate(f"SLA breached: {TARGET_NAMES[c.target]} was due {c.due_at:%Y-%m-%d %H:%M} UTC",
                   c.actor)
        return True

    return _apply(store, c.reference, step)


@handlers(MissHandover)
def miss_handover(store: Store, c: MissHandover) -> bool:
    def step(r: ServiceRequest) -> bool:
        if not r.miss_handover(c.due_at, c.escalate_to, c.actor):
            return False
        r.escalate(f"hand-over missed: not taken by a hotline engineer by "
                   f"{c.due_at:%Y-%m-%d %H:%M} UTC; for {c.escalate_to}", c.actor)
        return True

    return _apply(store, c.reference, step)


@handlers(PassEscalationDeadline)
def pass_deadline(store: Store, c: PassEscalationDeadline) -> bool:
    return _apply(store, c.reference, lambda r: r.escalation_overdue(c.due_at, c.actor))
