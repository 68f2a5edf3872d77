"""Commands of the returns context (seed 001's 退换货流程)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnose:
    """The engineer's diagnosis: a known cause, and what they found."""

    reference: str
    cause: str
    actor: str
    findings: str = ""


@dataclass(frozen=True)
class Judge:
    """The technical centre's judgement: return, exchange, repair or reject."""

    reference: str
    decision: str
    reason: str
    actor: str


@dataclass(frozen=True)
class Approve:
    """A manager's approval of the judgement (or not)."""

    reference: str
    approved: bool
    actor: str
    comment: str = ""
