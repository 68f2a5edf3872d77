"""Routing a request as it opens, in the same atomic write as the opening.

The customer's dedicated representative takes it when set and active;
otherwise the next available member of the team the type maps to, in turn
(RoutingCursor).  The request also enters that team's queue, so its SLA runs
on the team's hours.  The service request records an ordinary assignment (and
transfer to the team) whose actor is "routing"; RequestRouting records the rule.
With no one available, the request waits in the team's queue, unassigned.
"""

from __future__ import annotations

from domain.aggregates.customer import Customer
from domain.aggregates.routing import REASON, RequestRouting, RoutingCursor, cursor_id
from domain.aggregates.service_request import ServiceRequest
from domain.aggregates.team import Team, team_id
from domain.aggregates.user import User
from domain.ids import user_ids
from domain.store import Pending, Store
from domain.vocabulary import STAFF_ROLES

ACTOR = "routing"


def available(store: Store, email: str | None) -> bool:
    """An active member of staff (deactivated accounts take nothing new)."""
    if not email:
        return False
    user = store.find(User, *user_ids(email))
    return user is not None and user.active and any(r in STAFF_ROLES for r in user.roles)


def route_new_request(store: Store, pending: Pending, request: ServiceRequest,
                      customer: Customer) -> None:
    settings = store.routing
    if not settings.enabled:
        return
    team_code = settings.team_for(request.request_type)
    team = store.get(Team, team_id(team_code)) if team_code else None
    if team is not None:
        request.transfer_to_team(team.code, reason=REASON, actor=ACTOR)
    assignee: str | None = None
    rule = "unassigned"
    if settings.representative_first and available(store, customer.representative):
        assignee, rule = customer.representative, "representative"
    elif team is not None:
        cursor = store.get(RoutingCursor, cursor_id(team.code))
        if cursor is None:
            cursor = RoutingCursor(team=team.code, actor=ACTOR)
        members = list(team.members)
        assignee = cursor.next_of(members, [m for m in members if available(store, m)])
        if assignee is not None:
            cursor.advance(reference=request.reference, assignee=assignee, actor=ACTOR)
            pending.add(cursor)
            rule = "round_robin"
    if team is None and assignee is None:
        return  # nothing to record: no team configured and no representative
    if assignee is not None:
        request.assign(assignee, actor=ACTOR, reason=REASON)
    pending.add(RequestRouting(reference=request.reference, assignee=assignee,
                               team=team.code if team else None, rule=rule, reason=REASON,
                               actor=ACTOR))
