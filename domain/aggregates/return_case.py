"""ReturnCase: the return / exchange (退换货, RMA) workflow of one service request.

Seed 001's flow: the engineer diagnoses the unit (never without a known cause,
and nobody else writes the diagnosis) → the technical centre judges (return,
exchange, repair or reject, with a reason) → a manager approves or not → an
approved return or exchange is handed to the commercial process.

One aggregate per request, its id derived from the request's reference, so the
request's own stream (already long) gains no events and two people acting on
one case meet in the event store's optimistic concurrency.  The diagnosis
creates the case.  A refused approval sends the case back to the technical
centre, which may judge again; an approval given is final.

`CommercialHandOff` is the event other systems read (ERP, the commercial
desk): decision, serial, model and customer code, all plain.  Causes, serials,
decisions and staff actors are technical facts and stay plain; findings,
reasons and comments are free text an engineer may fill with the customer's
details, so they are sealed with the customer's key.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition
from domain.ids import NAMESPACE
from domain.personal import PersonalData, fields

DECISIONS = ("return", "exchange", "repair", "reject")
# Decisions whose approval hands the unit over to the commercial process (退 / 换
# 转商务); an approved repair goes back to field service, a rejection ends here.
COMMERCIAL_DECISIONS = ("return", "exchange")
# Stages, in order: what the console and the portal show.
STAGES = ("diagnosed", "judged", "not_approved", "approved", "handed_off")


def return_case_id(reference: str) -> UUID:
    return uuid5(NAMESPACE, f"return-case:{reference.strip().upper()}")


class ReturnCase(Aggregate):
    personal_data = PersonalData(
        owner=lambda case: case.customer_code,
        events={
            "Diagnosed": fields(plain="reference customer_code serial model cause",
                                personal="findings"),
            "Rediagnosed": fields(plain="cause", personal="findings"),
            "Judged": fields(plain="decision", personal="reason"),
            "ApprovalGiven": fields(plain="approved decision", personal="comment"),
            "CommercialHandOff": fields(plain="reference decision serial model customer_code"),
        },
    )

    @staticmethod
    def create_id(reference: str, **_: object) -> UUID:
        return return_case_id(reference)

    @event("Diagnosed")
    def __init__(self, reference: str, customer_code: str, serial: str | None,
                 model: str | None, cause: str, findings: str, actor: str) -> None:
        self.reference = reference
        self.customer_code = customer_code
        self.serial = serial
        self.model = model
        self.cause = cause
        self.findings = findings
        self.engineer = actor
        self.stage = "diagnosed"
        self.decision: str | None = None
        self.reason = ""
        self.judged_by: str | None = None
        self.approved: bool | None = None
        self.approved_by: str | None = None
        self.comment = ""

    # --- diagnosis -----------------------------------------------------------------

    def rediagnose(self, cause: str, findings: str, actor: str) -> None:
        """A corrected diagnosis, while the technical centre has not judged yet."""
        if self.stage != "diagnosed":
            raise InvalidTransition(
                f"{self.reference}: the technical centre has judged this return already; "
                "the diagnosis can no longer change")
        self._rediagnosed(cause=cause, findings=findings, actor=actor)

    @event("Rediagnosed")
    def _rediagnosed(self, cause: str, findings: str, actor: str) -> None:
        self.cause = cause
        self.findings = findings
        self.engineer = actor

    # --- technical judgement ---------------------------------------------------------

    def judge(self, decision: str, reason: str, actor: str) -> None:
        if self.stage in ("approved", "handed_off"):
            raise InvalidTransition(
                f"{self.reference}: this return was approved already; its judgement is final")
        if self.stage == "judged":
            raise InvalidTransition(
                f"{self.reference}: this return is judged and waits for a manager's approval")
        self._judged(decision=decision, reason=reason, actor=actor)

    @event("Judged")
    def _judged(self, decision: str, reason: str, actor: str) -> None:
        self.decision = decision
        self.reason = reason
        self.judged_by = actor
        self.stage = "judged"
        self.approved = None
        self.comment = ""

    # --- manager approval --------------------------------------------------------------

    def approve(self, approved: bool, comment: str, actor: str) -> None:
        if self.stage in ("approved", "handed_off"):
            raise InvalidTransition(f"{self.reference}: this return was approved already")
        if self.stage != "judged":
            raise InvalidTransition(
                f"{self.reference}: the technical centre has not judged this return yet "
                "(a new judgement is needed after a refused approval)")
        self._approval_given(approved=approved, decision=self.decision, comment=comment,
                             actor=actor)
        if approved and self.decision in COMMERCIAL_DECISIONS:
            self._commercial_hand_off(reference=self.reference, decision=self.decision,
                                      serial=self.serial, model=self.model,
                                      customer_code=self.customer_code, actor=actor)

    @event("ApprovalGiven")
    def _approval_given(self, approved: bool, decision: str | None, comment: str,
                        actor: str) -> None:
        self.approved = approved
        self.approved_by = actor
        self.comment = comment
        self.stage = "approved" if approved else "not_approved"

    @event("CommercialHandOff")
    def _commercial_hand_off(self, reference: str, decision: str | None, serial: str | None,
                             model: str | None, customer_code: str, actor: str) -> None:
        self.stage = "handed_off"
