"""What a customer (or partner) sees of a request: their conversation, not our desk.

Staff write things customers must not read: internal notes, the reasons given
for a status change or an escalation, call notes, who was assigned, the SLA
clock, claims made by strangers.  The timeline is filtered by allowlist, so a
kind of entry added later stays internal until someone decides otherwise, and
staff appear as "Support" rather than by their email address.
"""

from __future__ import annotations

from typing import Any

from domain.access import Principal
from domain.personal import CHANNEL_ACTOR_PREFIXES

SUPPORT = "Support"

# kind -> the data keys a customer may see; a kind not listed is not shown.
VISIBLE_DATA: dict[str, frozenset[str]] = {
    "opened": frozenset({"subject", "type", "follow_up_of"}),
    "message": frozenset({"subject", "sender", "sender_name", "occurred_at"}),
    "fax": frozenset({"sender", "pages"}),
    "reply": frozenset(),
    "call": frozenset({"started_at", "ended_at"}),
    "status": frozenset({"to"}),
    "satisfaction": frozenset({"score"}),
    # A return's steps: the stage reached and, once approved, the outcome; never
    # the cause, the findings, the technical centre's reason or the comment.
    "diagnosis": frozenset({"stage"}),
    "judgement": frozenset({"stage"}),
    "approval": frozenset({"stage", "approved", "decision"}),
    "commercial_hand_off": frozenset({"stage", "decision"}),
    # field service: the repair's stage, never who declined or why, nor notes
    "intake": frozenset({"mode", "warranty_checked"}),  # not the symptom as typed, nor price notes
    "phone_resolution": frozenset(),  # solved by phone: not the summary, nor who answered
    "dispatch": frozenset({"step", "appointment_at"}),
    "appointment": frozenset({"appointment_at"}),
    "visit": frozenset({"step", "visit"}),
    "unit": frozenset({"step", "carrier", "tracking_number"}),
    "service_report": frozenset({"visit", "signed"}),
    "second_visit": frozenset({"visit"}),
}
# Kinds whose text is the customer's own or was written to them.
VISIBLE_BODY = frozenset({"opened", "message", "fax", "reply", "satisfaction"})
# Header fields about our handling, not the customer's request.
INTERNAL_HEADER = ("sla_due_at", "priority", "team")  # a team is internal routing


def header_for(who: Principal, header: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in header.items() if k not in INTERNAL_HEADER}
    if shown.get("assignee"):
        shown["assignee"] = SUPPORT
    return shown


def entry_for(who: Principal, entry: dict[str, Any]) -> dict[str, Any] | None:
    """The timeline entry as the customer sees it, or None when it is internal."""
    kind = entry["kind"]
    allowed = VISIBLE_DATA.get(kind)
    if allowed is None:
        return None
    data = entry.get("data") or {}
    return {
        **entry,
        "actor": actor_for(who, entry["actor"]),
        "body": entry["body"] if kind in VISIBLE_BODY else "",
        "attachments": entry["attachments"] if kind in VISIBLE_BODY else [],
        "data": {k: v for k, v in data.items() if k in allowed},
    }


def actor_for(who: Principal, actor: str) -> str:
    if actor == who.email or actor.startswith(CHANNEL_ACTOR_PREFIXES):
        return actor
    return SUPPORT


def contact_for(who: Principal, contact: dict[str, Any]) -> dict[str, Any]:
    """A line of the 360's contact log: a call's summary is the agent's notes."""
    if contact["kind"] in VISIBLE_BODY:
        return contact
    return {**contact, "summary": ""}


def sees_own_only(who: Principal) -> bool:
    """A plain `customer` sees the requests they opened or wrote on; a
    `customer_admin` (and a partner, within their modules) the organisation's
    (CONTRACT.md, "Who may do what")."""
    return who.is_customer_side and set(who.roles) <= {"customer"}


def own_actors(who: Principal) -> list[str]:
    """The actors the events record for this person writing on any channel
    that knows them by their sign-in address."""
    email = who.email.strip().lower()
    return [f"{prefix}{email}" for prefix in ("web:", "email:", "chat:")]
