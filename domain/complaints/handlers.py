"""Handlers of the complaints context.  A complaint step that touches the request
(routing to the department, the result as a reply, resolving, escalating) saves
the complaint and the request together, so neither is ever ahead of the other."""

from __future__ import annotations

from collections.abc import Callable

from eventsourcing.domain import Aggregate

from domain.aggregates.complaint import Complaint, complaint_id
from domain.aggregates.contact import CustomerContact
from domain.aggregates.service_request import ServiceRequest
from domain.commands import Handlers
from domain.complaints.commands import (
    ClassifyComplaint,
    CloseComplaint,
    MissComplaintDeadline,
    RegisterComplaint,
    ReviewComplaintResult,
    StartComplaintHandling,
    SubmitComplaintResult,
)
from domain.complaints.policy import LEVELS, TARGETS, ComplaintSettings
from domain.customers.handlers import load_customer
from domain.errors import DomainError, InvalidTransition, NotFound, invalid
from domain.requests.handlers import change_request
from domain.requests.lookup import load_request
from domain.requests.opening import summary
from domain.requests.routing import route_reply
from domain.store import Pending, Store
from domain.teams.handlers import load_team
from domain.vocabulary import require_one_of

handlers = Handlers()

Step = Callable[[ServiceRequest, Complaint], list[Aggregate] | None]


def complaint_settings(store: Store) -> ComplaintSettings:
    found = store.settings.get("complaints")
    return found if isinstance(found, ComplaintSettings) else ComplaintSettings()


def find_complaint(store: Store, reference: str) -> Complaint | None:
    return store.get(Complaint, complaint_id(reference))


def _new_complaint(store: Store, request: ServiceRequest, actor: str) -> Complaint:
    """Registered now, by the desk's clock: the suggested completion time runs
    from here (the intake policy registers within a moment of the opening)."""
    if request.request_type != "complaint":
        raise InvalidTransition(
            f"{request.reference} is a {request.request_type} request, not a complaint")
    return Complaint(reference=request.reference, customer_code=request.customer_code,
                     registered_at=store.clock.now(), actor=actor)


def _with_complaint(store: Store, reference: str, step: Step, actor: str) -> None:
    """Load the request and its complaint, apply `step`, save both and whatever
    else `step` returns.  A complaint request whose record the intake policy
    has not made yet is registered here (every step but classifying then
    refuses, as for any registered complaint)."""

    def change(request: ServiceRequest) -> list[Aggregate]:
        complaint = find_complaint(store, request.reference) \
            or _new_complaint(store, request, actor)
        return [complaint, *(step(request, complaint) or [])]

    change_request(store, reference, change)


@handlers(RegisterComplaint)
def register(store: Store, c: RegisterComplaint) -> bool:
    """True when it registered; False when the record exists already."""

    def attempt() -> bool:
        request = load_request(store, c.reference)
        if find_complaint(store, request.reference) is not None:
            return False
        store.save(Pending([_new_complaint(store, request, c.actor)]))
        return True

    return store.retrying(attempt)


@handlers(ClassifyComplaint)
def classify(store: Store, c: ClassifyComplaint) -> None:
    settings = complaint_settings(store)
    require_one_of(c.category, settings.categories, "category")
    require_one_of(c.target, TARGETS, "target")
    require_one_of(c.level, LEVELS, "level")
    department = settings.department(c.target)
    try:
        team = load_team(store, department)
    except NotFound:
        raise DomainError(f"the {c.target} department, team {department!r}, does not exist: "
                          "create it or change [complaints.departments]",
                          fields={"target": f"no team {department!r}"}) from None
    review = c.level in settings.review_levels if c.review is None else c.review

    def step(request: ServiceRequest, complaint: Complaint) -> None:
        due = settings.suggested_due(complaint.registered_at, c.category, c.level, team.code)
        complaint.classify(c.category, c.target, c.level, team.code, due, review, c.actor)
        # Routed once per department: a reclassification within it leaves
        # whoever took the work where they are.
        if request.is_open and request.team != team.code:
            request.transfer_to_team(team.code, f"complaint ({c.target}): to the "
                                                f"{team.name} department", c.actor)

    _with_complaint(store, c.reference, step, c.actor)


@handlers(StartComplaintHandling)
def start_handling(store: Store, c: StartComplaintHandling) -> None:
    _with_complaint(store, c.reference, lambda r, k: k.start_handling(c.actor), c.actor)


def _send(store: Store, request: ServiceRequest, complaint: Complaint, body: str,
          actor: str) -> list[Aggregate]:
    """The result as a reply on the customer's channel (the reply path's own
    routing: refused at once when nothing can reach them), and the request
    resolved, which sends the satisfaction survey (policies.survey)."""
    customer = load_customer(store, request.customer_code)
    route = route_reply(customer, request.channel, None, store.reply_channels)
    reply_id = complaint.next_reply_id()
    complaint.send_result(body, reply_id, actor)
    request.queue_reply(reply_id, body, [], route.recipient, actor, channel=route.channel)
    if request.is_open:
        request.resolve("complaint answered", actor)
    return [CustomerContact(
        customer_code=customer.code, channel=route.channel,
        external_id=f"{request.reference}/{reply_id}", direction="outbound", kind="reply",
        reference=request.reference, summary=summary("", body),
        occurred_at=store.clock.now(), actor=actor,
    )]


@handlers(SubmitComplaintResult)
def submit_result(store: Store, c: SubmitComplaintResult) -> str:
    body = c.body.strip()
    if not body:
        raise invalid("body", "write the result the customer will receive")
    outcome: list[str] = []

    def step(request: ServiceRequest, complaint: Complaint) -> list[Aggregate]:
        outcome.clear()
        if complaint.review_required:
            complaint.propose_result(body, c.actor)
            outcome.append("in_review")
            return []
        sent = _send(store, request, complaint, body, c.actor)
        outcome.append("result_sent")
        return sent

    _with_complaint(store, c.reference, step, c.actor)
    return outcome[0]


@handlers(ReviewComplaintResult)
def review(store: Store, c: ReviewComplaintResult) -> str:
    if not c.approved and not c.comment.strip():
        # A body the schema allows, refused for what it leaves out: 422.
        raise DomainError("a result sent back needs a comment saying what it is missing",
                          fields={"comment": "required when the result is not approved"})

    def step(request: ServiceRequest, complaint: Complaint) -> list[Aggregate]:
        proposed = complaint.proposed or ""
        complaint.review(c.approved, c.comment.strip(), c.actor)
        if not c.approved:
            return []
        return _send(store, request, complaint, proposed, c.actor)

    _with_complaint(store, c.reference, step, c.actor)
    return "result_sent" if c.approved else "in_handling"


@handlers(CloseComplaint)
def close(store: Store, c: CloseComplaint) -> None:
    def step(request: ServiceRequest, complaint: Complaint) -> None:
        complaint.close(c.actor)
        if request.status == "resolved":
            request.close(c.actor)

    _with_complaint(store, c.reference, step, c.actor)


@handlers(MissComplaintDeadline)
def miss_deadline(store: Store, c: MissComplaintDeadline) -> bool:
    recorded: list[bool] = []

    def step(request: ServiceRequest, complaint: Complaint) -> None:
        recorded.clear()
        if not complaint.mark_overdue(c.due_at, c.actor):
            recorded.append(False)
            return
        recorded.append(True)
        if request.is_open:
            request.escalate(f"complaint overdue: the suggested completion time "
                             f"{c.due_at:%Y-%m-%d %H:%M} UTC passed", c.actor)

    _with_complaint(store, c.reference, step, c.actor)
    return bool(recorded and recorded[0])
