"""Commands of the quality context (质量反馈)."""

from __future__ import annotations

from dataclasses import dataclass


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
