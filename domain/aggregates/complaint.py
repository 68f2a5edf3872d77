"""The Complaint aggregate (投诉): the complaint record of a request of type
`complaint`, keyed by the request's reference, beside the request rather than
inside it (the request's stream is long enough already).

registered → classified → in_handling → (in_review →) result_sent → closed.
Classification names the category, the target (product, service, staff) and
the level; from them come the suggested completion time (business time, from
the complaint's registration) and the responsible department.  A rejected
review goes back to handling.  A missed suggested time is recorded once per
due time (the timer may ask twice, or from two processes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition
from domain.ids import NAMESPACE
from domain.personal import PersonalData, fields

STATES = ("registered", "classified", "in_handling", "in_review", "result_sent", "closed")
DONE = ("result_sent", "closed")
STATE_NAMES = {"registered": "registered", "classified": "classified",
               "in_handling": "in handling", "in_review": "in review",
               "result_sent": "answered (result sent)", "closed": "closed"}


def complaint_id(reference: str) -> UUID:
    return uuid5(NAMESPACE, f"complaint:{reference.strip().upper()}")


class Complaint(Aggregate):
    personal_data = PersonalData(
        owner=lambda complaint: complaint.customer_code,
        events={
            "Registered": fields(plain="reference customer_code registered_at"),
            "Classified": fields(plain="category target level department due_at "
                                       "review_required"),
            "HandlingStarted": fields(),
            "ResultProposed": fields(personal="body"),
            "Reviewed": fields(plain="approved", personal="comment"),
            "ResultSent": fields(plain="reply_id", personal="body"),
            "Closed": fields(),
            "Overdue": fields(plain="due_at"),
        },
    )

    @staticmethod
    def create_id(reference: str, **_: object) -> UUID:
        return complaint_id(reference)

    @event("Registered")
    def __init__(self, reference: str, customer_code: str, registered_at: datetime,
                 actor: str) -> None:
        self.reference = reference
        self.customer_code = customer_code
        self.registered_at = registered_at
        self.state = "registered"
        self.category: str | None = None
        self.target: str | None = None
        self.level: str | None = None
        self.department: str | None = None
        self.due_at: datetime | None = None
        self.review_required = False
        self.proposed: str | None = None  # the result awaiting review
        self.proposed_by: str | None = None
        self.results = 0
        self.overdue_marks: set[str] = set()

    def _require(self, step: str, *states: str) -> None:
        if self.state not in states:
            allowed = " or ".join(STATE_NAMES[s] for s in states)
            raise InvalidTransition(
                f"the complaint on {self.reference} is {STATE_NAMES[self.state]}: "
                f"it can {step} only when {allowed}")

    def classify(self, category: str, target: str, level: str, department: str,
                 due_at: datetime, review_required: bool, actor: str) -> None:
        self._require("be classified", "registered", "classified", "in_handling")
        self._classified(category=category, target=target, level=level, department=department,
                         due_at=due_at, review_required=review_required, actor=actor)

    @event("Classified")
    def _classified(self, category: str, target: str, level: str, department: str,
                    due_at: datetime, review_required: bool, actor: str) -> None:
        self.category, self.target, self.level = category, target, level
        self.department, self.due_at = department, due_at
        self.review_required = review_required
        if self.state == "registered":
            self.state = "classified"

    def start_handling(self, actor: str) -> None:
        self._require("be taken into handling", "classified")
        self._handling_started(actor=actor)

    @event("HandlingStarted")
    def _handling_started(self, actor: str) -> None:
        self.state = "in_handling"

    def propose_result(self, body: str, actor: str) -> None:
        """With review required: the result waits for a manager."""
        self._require("take a result", "in_handling")
        self._result_proposed(body=body, actor=actor)

    @event("ResultProposed")
    def _result_proposed(self, body: str, actor: str) -> None:
        self.state = "in_review"
        self.proposed = body
        self.proposed_by = actor

    def review(self, approved: bool, comment: str, actor: str) -> None:
        self._require("be reviewed", "in_review")
        if actor == self.proposed_by:
            raise InvalidTransition(
                f"the result on {self.reference} was written by {actor}: "
                "another manager reviews it")
        self._reviewed(approved=approved, comment=comment, actor=actor)

    @event("Reviewed")
    def _reviewed(self, approved: bool, comment: str, actor: str) -> None:
        if not approved:
            self.state = "in_handling"
            self.proposed = None

    def send_result(self, body: str, reply_id: str, actor: str) -> None:
        if self.review_required:
            self._require("send its result", "in_review")
        else:
            self._require("send its result", "in_handling")
        self._result_sent(body=body, reply_id=reply_id, actor=actor)

    @event("ResultSent")
    def _result_sent(self, body: str, reply_id: str, actor: str) -> None:
        self.state = "result_sent"
        self.results += 1
        self.proposed = None

    def next_reply_id(self) -> str:
        return f"complaint-result-{self.results + 1}"

    def close(self, actor: str) -> None:
        self._require("be closed", "result_sent")
        self._closed(actor=actor)

    @event("Closed")
    def _closed(self, actor: str) -> None:
        self.state = "closed"

    def mark_overdue(self, due_at: datetime, actor: str) -> bool:
        """False (nothing recorded) when answered, reclassified to another due
        time since, or recorded before."""
        key = due_at.astimezone(UTC).isoformat()
        if self.state in DONE or self.due_at != due_at or key in self.overdue_marks:
            return False
        self._overdue(due_at=due_at, actor=actor)
        return True

    @event("Overdue")
    def _overdue(self, due_at: datetime, actor: str) -> None:
        self.overdue_marks.add(due_at.astimezone(UTC).isoformat())
