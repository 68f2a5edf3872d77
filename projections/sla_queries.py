"""What the SLA timers must act on now, read from the inbox view's rows.

The timers (policies.sla_timers) keep no state of their own: every deadline is
a column of the inbox, so what is due survives a restart and is the same in
every process.  A row stays due until the view has seen the event the timer's
command recorded; asking again meanwhile is harmless, since the commands are
idempotent per request, target and due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from projections.storage import ViewStorage
from projections.view import iso

OPEN = "status NOT IN ('resolved', 'closed')"


@dataclass(frozen=True)
class Due:
    """`kind`: warn, breach, handover or escalation; `target` for warn and breach."""

    kind: str
    reference: str
    due_at: datetime
    target: str = ""


def due_timers(inbox: ViewStorage, now: datetime, limit: int = 200) -> list[Due]:
    moment = iso(now)
    found: list[Due] = []
    clocks = (("response_target", "response"), ("'resolution'", "resolution"))
    for target_sql, clock in clocks:
        rows = inbox.query(
            f"""SELECT reference, {target_sql} AS target, {clock}_due_at AS due_at,
                       {clock}_warn_at AS warn_at, {clock}_sla AS state
                FROM inbox WHERE {OPEN} AND {clock}_due_at IS NOT NULL
                  AND (({clock}_due_at <= ? AND ({clock}_sla IS NULL
                                                 OR {clock}_sla = 'warned'))
                    OR ({clock}_warn_at <= ? AND {clock}_sla IS NULL))
                ORDER BY {clock}_due_at LIMIT ?""", (moment, moment, limit))
        for row in rows:
            # Past its due time only the breach matters; a warning then says nothing new.
            kind = "breach" if row["due_at"] <= moment else "warn"
            found.append(Due(kind, row["reference"], _moment(row["due_at"]), row["target"]))
    for column, kind in (("handover_due_at", "handover"), ("escalation_due_at", "escalation")):
        extra = " AND assignee IS NULL" if kind == "handover" else ""
        rows = inbox.query(
            f"""SELECT reference, {column} AS due_at FROM inbox
                WHERE {OPEN} AND {column} IS NOT NULL AND {column} <= ?{extra}
                ORDER BY {column} LIMIT ?""", (moment, limit))
        found.extend(Due(kind, row["reference"], _moment(row["due_at"])) for row in rows)
    return found


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)
