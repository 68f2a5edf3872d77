"""QualityCase: a major quality problem (重大质量问题) found in a repair or an
escalation, sent to the quality and product teams and tracked to a conclusion.

Seed 001: "major quality problems go to the quality/product teams" with the
product, the batch and the symptom.  Its own aggregate, one per problem, named
`QC-<8 hex>` (random; its id derives from it): one request may raise several, and one problem is
tracked long after the request closed.  Open → investigating → concluded; a
conclusion is final.

Desk knowledge about a product, not a customer's data: the source request's
reference and the technical facts (model, batch, serial, symptom, conclusion)
are plain, like the staff who act on it; nobody's key seals it.
"""

from __future__ import annotations

from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition
from domain.ids import NAMESPACE
from domain.personal import PersonalData, fields

ORIGINS = ("repair", "escalation")
QUALITY_STATUSES = ("open", "investigating", "concluded")
# The teams a quality case goes to (team queues team:quality, team:product).
QUALITY_TEAMS = ("quality", "product")


def new_code() -> str:
    return f"QC-{uuid4().hex[:8].upper()}"


def quality_case_id(code: str) -> UUID:
    return uuid5(NAMESPACE, f"quality-case:{code.strip().upper()}")


class QualityCase(Aggregate):
    personal_data = PersonalData(
        owner=lambda case: None,
        unowned_in_clear=True,
        events={
            "Raised": fields(plain="code source_reference origin product batch serial symptom "
                                   "teams"),
            "InvestigationStarted": fields(plain="note"),
            "Concluded": fields(plain="conclusion"),
        },
    )

    @staticmethod
    def create_id(code: str, **_: object) -> UUID:
        return quality_case_id(code)

    @event("Raised")
    def __init__(self, code: str, source_reference: str, origin: str, product: str,
                 batch: str, serial: str | None, symptom: str, teams: list[str],
                 actor: str) -> None:
        self.code = code
        self.source_reference = source_reference
        self.origin = origin
        self.product = product
        self.batch = batch
        self.serial = serial
        self.symptom = symptom
        self.teams = list(teams)
        self.raised_by = actor
        self.status = "open"
        self.investigator: str | None = None
        self.conclusion = ""

    def investigate(self, note: str, actor: str) -> None:
        if self.status != "open":
            raise InvalidTransition(f"{self.code} is {self.status}: it is investigated once")
        self._investigation_started(note=note, actor=actor)

    @event("InvestigationStarted")
    def _investigation_started(self, note: str, actor: str) -> None:
        self.status = "investigating"
        self.investigator = actor

    def conclude(self, conclusion: str, actor: str) -> None:
        if self.status == "concluded":
            raise InvalidTransition(f"{self.code} is concluded already")
        if self.status != "investigating":
            raise InvalidTransition(f"{self.code} is not under investigation yet")
        self._concluded(conclusion=conclusion, actor=actor)

    @event("Concluded")
    def _concluded(self, conclusion: str, actor: str) -> None:
        self.status = "concluded"
        self.conclusion = conclusion
