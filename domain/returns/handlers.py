"""Handlers of the returns context.

Who acts is checked here as well as at the edge, because the seed's rules are
about people, not endpoints: only an engineer (or an admin, who may do what
staff do) writes a diagnosis (严禁其他部门人员代写诊断报告); when a
`technical_centre` team exists, an agent judges only as one of its members
(managers and admins always may); only a manager (or an admin) approves.
"""

from __future__ import annotations

from domain.aggregates.installed_product import InstalledProduct
from domain.aggregates.return_case import DECISIONS, ReturnCase, return_case_id
from domain.aggregates.team import Team, team_id
from domain.aggregates.user import User
from domain.commands import Handlers
from domain.errors import InvalidTransition, PermissionDenied, invalid
from domain.ids import product_id, user_ids
from domain.requests.lookup import load_request
from domain.returns.commands import Approve, Diagnose, Judge
from domain.store import Pending, Store

handlers = Handlers()

TECHNICAL_CENTRE = "technical_centre"
# What an engineer writes when they do not know the cause: not a diagnosis
# (维修人员不能提交不清楚故障原因的报告).
UNKNOWN_CAUSES = frozenset({
    "unknown", "unclear", "not known", "n/a", "na", "none", "?", "tbd", "-",
    "不明", "未知", "不清楚", "原因不明", "待查",
})
FINDINGS_LIMIT = 10_000


def load_case(store: Store, reference: str) -> ReturnCase:
    load_request(store, reference)  # an unknown reference is 404 before anything else
    case = store.get(ReturnCase, return_case_id(reference))
    if case is None:
        raise InvalidTransition(
            f"{reference}: no diagnosis yet — an engineer diagnoses the unit first")
    return case


def find_case(store: Store, reference: str) -> ReturnCase | None:
    return store.get(ReturnCase, return_case_id(reference))


def _roles(store: Store, actor: str) -> tuple[str, ...]:
    user = store.find(User, *user_ids(actor))
    return tuple(user.roles) if user is not None and user.active else ()


def _known_cause(cause: str) -> str:
    if len(cause) > 500:
        raise invalid("cause", "the cause is at most 500 characters; details go in findings")
    cause = cause.strip()
    if not cause:
        raise invalid("cause", "a diagnosis needs the cause of the fault")
    if cause.lower().rstrip(".!。") in UNKNOWN_CAUSES:
        raise invalid("cause", "the cause is not known: no diagnosis can be filed without it")
    return cause


@handlers(Diagnose)
def diagnose(store: Store, c: Diagnose) -> None:
    cause = _known_cause(c.cause)
    if len(c.findings) > FINDINGS_LIMIT:
        raise invalid("findings", f"findings are at most {FINDINGS_LIMIT} characters")
    if not set(_roles(store, c.actor)) & {"engineer", "admin"}:
        raise PermissionDenied("only an engineer writes a diagnosis")

    def attempt() -> None:
        request = load_request(store, c.reference)
        if request.request_type != "return":
            raise InvalidTransition(
                f"{c.reference} is a {request.request_type} request, not a return: "
                "only returns are diagnosed for return or exchange")
        if not request.is_open:
            raise InvalidTransition(f"{c.reference} is {request.status}")
        case = find_case(store, c.reference)
        if case is not None:
            case.rediagnose(cause, c.findings.strip(), c.actor)
            store.save(case)
            return
        serial = request.product
        product = store.get(InstalledProduct, product_id(serial)) if serial else None
        store.create(Pending([ReturnCase(
            reference=request.reference, customer_code=request.customer_code,
            serial=serial, model=product.details.get("model") if product else None, cause=cause,
            findings=c.findings.strip(), actor=c.actor,
        )]), f"{c.reference}: a diagnosis was filed a moment ago; reload and try again")

    store.retrying(attempt)


@handlers(Judge)
def judge(store: Store, c: Judge) -> None:
    if c.decision not in DECISIONS:
        raise invalid("decision", f"the decision is one of {', '.join(DECISIONS)}")
    if not c.reason.strip():
        raise invalid("reason", "a judgement gives its reason")
    roles = _roles(store, c.actor)
    if not set(roles) & {"manager", "admin"}:
        team = store.get(Team, team_id(TECHNICAL_CENTRE))
        if team is not None and team.members and c.actor not in team.members:
            raise PermissionDenied("returns are judged by the technical centre "
                                   f"(team {TECHNICAL_CENTRE}) or a manager")
    store.change(lambda: load_case(store, c.reference),
                 lambda case: case.judge(c.decision, c.reason.strip(), c.actor))


@handlers(Approve)
def approve(store: Store, c: Approve) -> None:
    if not set(_roles(store, c.actor)) & {"manager", "admin"}:
        raise PermissionDenied("only a manager approves a return or an exchange")
    if len(c.comment) > FINDINGS_LIMIT:
        raise invalid("comment", f"a comment is at most {FINDINGS_LIMIT} characters")
    store.change(lambda: load_case(store, c.reference),
                 lambda case: case.approve(c.approved, c.comment.strip(), c.actor))

