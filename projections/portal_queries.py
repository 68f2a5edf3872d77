"""The portal's queries: a customer's own requests and products, in the
customer's view (projections.customer_view), never our desk's fields."""

from __future__ import annotations

from typing import Any

from domain.access import Principal
from domain.vocabulary import OPEN_STATUSES, STATUSES
from projections import customer_view
from projections.queries import own_request_ids, search_clause
from projections.registry import ReadModels

# The status filter meaning "any status not yet resolved" (new, open, waiting, escalated).
UNRESOLVED = "unresolved"

PORTAL_SORTS = {"activity": "last_activity_at DESC, reference DESC",
                "opened": "opened_at DESC, reference DESC",
                "reference": "reference DESC", "status": "status, last_activity_at DESC"}


def portal_requests(models: ReadModels, who: Principal, params: dict[str, str],
                    limit: int = 100) -> list[dict[str, Any]]:
    """A customer's requests as the portal lists them: their organisation's,
    filtered by status, type and text, sorted as asked; in the customer's
    view (no internal fields)."""
    if not who.customer_code:
        return []
    where, args = ["customer_code = ?"], [who.customer_code]
    if customer_view.sees_own_only(who):
        own = sorted(own_request_ids(models, who))
        where.append(f"id IN ({', '.join('?' for _ in own) or 'NULL'})")
        args.extend(own)
    if params.get("status") == UNRESOLVED:
        where.append(f"status IN ({', '.join('?' for _ in OPEN_STATUSES)})")
        args.extend(OPEN_STATUSES)
    elif params.get("status") in STATUSES:
        where.append("status = ?")
        args.append(params["status"])
    if params.get("type"):
        where.append("type = ?")
        args.append(params["type"])
    if params.get("q", "").strip():
        search_clause(models, params["q"], where, args)
    order = PORTAL_SORTS.get(params.get("sort", ""), PORTAL_SORTS["activity"])
    rows = models["inbox"].query(
        "SELECT reference, subject, type, status, channel, product, opened_at, "
        f"last_activity_at, satisfaction FROM inbox WHERE {' AND '.join(where)} "
        f"ORDER BY {order} LIMIT ?", [*args, limit])
    return [customer_view.header_for(who, r) for r in rows]
