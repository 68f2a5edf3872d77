"""Commands of the complaints context.  `reference` is the request's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

TIMER_ACTOR = "system:complaints"


@dataclass(frozen=True)
class RegisterComplaint:
    """The complaint record of a request of type `complaint` (the intake policy
    issues it when one is opened; classifying registers it too when absent)."""

    reference: str
    actor: str = TIMER_ACTOR


@dataclass(frozen=True)
class ClassifyComplaint:
    """Category × level give the suggested completion time; the target gives the
    department the request is transferred to.  `review`: whether a manager
    approves the result first (None: as configured for the level)."""

    reference: str
    category: str
    target: str
    level: str
    actor: str
    review: bool | None = None


@dataclass(frozen=True)
class StartComplaintHandling:
    """The department takes the complaint (受理)."""

    reference: str
    actor: str


@dataclass(frozen=True)
class SubmitComplaintResult:
    """The result for the customer: sent at once, or held for review."""

    reference: str
    body: str
    actor: str


@dataclass(frozen=True)
class ReviewComplaintResult:
    """A manager approves (the result goes out) or sends it back to handling."""

    reference: str
    approved: bool
    actor: str
    comment: str = ""


@dataclass(frozen=True)
class CloseComplaint:
    reference: str
    actor: str


@dataclass(frozen=True)
class MissComplaintDeadline:
    """The suggested completion time passed unanswered: escalate, once per due time."""

    reference: str
    due_at: datetime
    actor: str = TIMER_ACTOR
