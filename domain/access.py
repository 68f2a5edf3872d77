"""Who may see and do what: one module, used by the API, the console, the portal
and the exports alike.  The HTTP layer only turns a token or a session into a
`Principal`; every decision is made here.

Permissions are named after what a person does; `ALLOWED` lists the roles that
may do it (CONTRACT.md, "Who may do what").  Auditors read everything and change
nothing; customers and partners see only their own organisation, and a foreign
reference looks exactly like an unknown one to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from domain.errors import NotFound, PermissionDenied
from domain.vocabulary import CUSTOMER_ROLES, STAFF_ROLES

STAFF: Final = frozenset(STAFF_ROLES)
CUSTOMERS: Final = frozenset(CUSTOMER_ROLES)

# The portal's modules an admin grants to a partner organisation (seed 003);
# customers have them all.  Home and preferences are not modules: everyone has them.
PORTAL_MODULES: Final = ("requests", "products", "knowledge", "account", "chat")
# Customers whose people sign in as partners: dealers and authorised repair shops.
PARTNER_CLASSIFICATIONS: Final = ("partner", "dealer", "repair_shop")

ALLOWED: Final[dict[str, frozenset[str]]] = {
    # reads
    "read_queues": STAFF | {"auditor"},  # inbox, audit trail, audit verify
    "read_own": STAFF | CUSTOMERS | {"auditor"},  # a request, a 360, knowledge
    # the console's working pages (inbox, request page): staff only; auditors
    # read the same history in the audit view, where nothing can be changed
    "work_queues": STAFF,
    # who read whose data: for compliance, not for every agent
    "read_access_log": frozenset({"auditor", "admin", "manager"}),
    # commands
    "open_request": STAFF | CUSTOMERS,
    "reply": STAFF,
    "note": STAFF,
    "assign": STAFF,  # assign, transfer (业务移交)
    # field service (issue 16): coordinators (agents, managers) take the intake and
    # dispatch; the engineer's own steps are open to staff and checked on the job
    # (only the dispatched engineer accepts, visits, reports)
    "dispatch": frozenset({"agent", "manager", "admin"}),
    "field_work": STAFF,
    "hand_over": frozenset({"admin", "manager"}),  # everything one person holds, at once
    # 催办: managers (and admins, who may do whatever staff do); agents may not
    "urge": frozenset({"manager", "admin"}),
    # 投诉: staff classify, handle, answer and close; managers approve a result
    # that needs review (领导批阅)
    "handle_complaints": STAFF,
    "review_complaints": frozenset({"manager", "admin"}),
    # 预约提示 for oneself or a colleague, and the notifications one receives
    "set_reminders": STAFF,
    "read_notifications": STAFF,
    "change_status": STAFF,
    # knowledge (seed 000, 003): every member of staff writes drafts, revisions
    # and drafts from requests; managers (and admins) review, publish and retire
    # them (four eyes: never a revision they wrote, domain.aggregates.knowledge)
    "write_knowledge": STAFF,
    "review_knowledge": frozenset({"manager", "admin"}),
    # returns (退换货): the engineer diagnoses (admins may do what staff do); the
    # technical centre (agents, managers) judges; a manager approves
    # (domain.returns.handlers checks the
    # person as well: engineers only diagnose, technical-centre members judge)
    "diagnose_return": frozenset({"engineer", "admin"}),
    "judge_return": frozenset({"agent", "manager", "admin"}),
    "approve_return": frozenset({"manager", "admin"}),
    # quality feedback: any staff raises a case; the quality and product teams
    # (staff) investigate and conclude it
    "quality": STAFF,
    # the engineers' wage settlement: for managers (payroll) and admins
    "read_settlement": frozenset({"manager", "admin", "auditor"}),
    "log_call": STAFF,
    "manage_customers": STAFF,
    "manage_products": STAFF,
    "manage_users": frozenset({"admin"}),
    "manage_teams": frozenset({"admin"}),  # list, deactivate, revoke tokens
    # 备件库: admins receive stock; admins and coordinators issue parts to an
    # engineer and take returns at the counter; staff and auditors read stock
    "manage_parts": frozenset({"admin"}),
    "issue_parts": frozenset({"admin", "agent", "manager"}),
    "read_parts": STAFF | {"auditor"},
    "manage_partners": frozenset({"admin"}),  # which portal modules a partner may use
    "invite_users": STAFF,  # a customer's contact to the portal, by a one-time link
    "erase_customers": frozenset({"admin"}),  # crypto-shred a customer's personal data
    # the portal: customers and partners on their own organisation's requests
    "use_portal": CUSTOMERS,
    "follow_up": CUSTOMERS,
    "rate": CUSTOMERS,
    "close_own": CUSTOMERS,
}


@dataclass(frozen=True)
class Principal:
    email: str
    roles: tuple[str, ...]
    customer_code: str | None

    @property
    def is_staff(self) -> bool:
        return any(role in STAFF for role in self.roles)

    @property
    def is_auditor(self) -> bool:
        return "auditor" in self.roles

    @property
    def is_customer_side(self) -> bool:
        """Customers and partners: they see only their own organisation."""
        return not self.is_staff and not self.is_auditor and any(
            role in CUSTOMERS for role in self.roles
        )

    @property
    def is_partner(self) -> bool:
        """A dealer's or repair shop's person: the portal's modules are granted."""
        return self.is_customer_side and "partner" in self.roles

    def may(self, permission: str) -> bool:
        return any(role in ALLOWED[permission] for role in self.roles)


def require(who: Principal, permission: str) -> None:
    """Refuse with a message that says why; an auditor is told it is read-only."""
    if who.may(permission):
        return
    if who.is_auditor and not who.is_staff and permission not in ("read_queues", "read_own"):
        raise PermissionDenied("auditors cannot change anything")
    if permission == "read_queues":
        raise PermissionDenied("this is for staff and auditors only")
    raise PermissionDenied("you may not do this")


def require_visible(who: Principal, customer_code: str | None, what: str) -> None:
    """A foreign reference is 404, exactly like an unknown one: its existence is
    not something a customer of another organisation may learn."""
    if who.is_customer_side and customer_code != who.customer_code:
        raise NotFound(f"no {what}")


def visible_modules(who: Principal, granted: Iterable[str] | None) -> tuple[str, ...]:
    """The portal modules `who` may use: a partner those granted to their
    organisation (none until an admin grants some), everyone else all."""
    if not who.is_partner:
        return PORTAL_MODULES
    wanted = set(granted or ())
    return tuple(m for m in PORTAL_MODULES if m in wanted)


def require_module(who: Principal, granted: Iterable[str] | None, module: str) -> None:
    """Refuse a partner a module not granted to their organisation, on every
    surface alike (pages, JSON API): a grant that only hid a tab would not be one."""
    if module not in PORTAL_MODULES:
        raise ValueError(f"no portal module named {module!r}")
    if module not in visible_modules(who, granted):
        raise PermissionDenied("this part of the portal is not enabled for your organisation")
