"""Commands of the quality context (质量反馈)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RaiseQualityCase:
    """A major quality problem found while handling `source_reference`."""

    source_reference: str
    origin: str  # repair | escalation
    product: str  # the model
    batch: str
    symptom: str
    actor: str
    serial: str | None = None


@dataclass(frozen=True)
class StartInvestigation:
    code: str
    actor: str
    note: str = ""


@dataclass(frozen=True)
class ConcludeQualityCase:
    code: str
    conclusion: str
    actor: str


@dataclass(frozen=True)
class EscalateQualityProblem:
    """An escalation flagged as a major quality problem (issue 15 item 4): the
    request is escalated and a QualityCase (origin `escalation`) is raised for the
    quality and product teams' queues, in one write."""

    reference: str
    reason: str
    product: str  # the model
    batch: str
    symptom: str
    actor: str
    serial: str | None = None
    level: int | None = None
    due_at: datetime | None = None
