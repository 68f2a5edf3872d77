"""Reading the read models: every query the API serves, as plain functions.

The route names the permission a query needs (read_api.app); what depends on
the rows found, such as a customer seeing only their own organisation, is
checked here through domain.access.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from domain import ids
from domain.access import Principal, require_visible
from domain.aggregates.team import CODE_SHAPE, TEAM_PREFIX
from domain.errors import NotFound, invalid
from domain.vocabulary import CHANNELS, OPEN_STATUSES, STATUSES
from projections import customer_view
from projections.access_log import AccessFilter
from projections.audit import AuditFilter, audit_events, time_bounds, unknown_subject
from projections.registry import ReadModels
from projections.unit_history import agreements, part_history
from projections.view import from_json, iso

QUEUES = ("unassigned", "mine", "pending_customer", "escalated", "sla_at_risk",
          "delivery_failed", "fax_verification")
SLA_RISK_WINDOW = timedelta(hours=1)
INBOX_COLUMNS = ("reference, customer_code, subject, channel, status, priority, assignee, team, "
                 "last_activity_at, sla_due_at, awaiting_reply, delivery_failed, type, "
                 "response_sla, resolution_sla")
# At risk: due within the window, or an SLA timer warned or found it breached.
SLA_AT_RISK = ("((awaiting_reply = 1 AND sla_due_at IS NOT NULL AND sla_due_at < ?) "
               "OR response_sla IS NOT NULL OR resolution_sla IS NOT NULL)")


# How the inbox can be ordered: (the key, as SQL over the inbox's columns; newest
# or highest first?).  The reference breaks ties, so keyset paging by
# (key, reference) never skips or repeats a row.
INBOX_SORTS: dict[str, tuple[str, bool]] = {
    "activity": ("last_activity_at", True),
    "sla": ("COALESCE(sla_due_at, '9999-12-31')", False),  # due soonest first, none last
    "priority": ("CASE priority WHEN 'urgent' THEN '3' WHEN 'high' THEN '2' "
                 "WHEN 'normal' THEN '1' ELSE '0' END", True),
}


def encode_cursor(row: dict[str, Any]) -> str:
    """Where the next page starts: the last row's sort key and reference."""
    raw = json.dumps([str(row.get("sort_key", row["last_activity_at"])),
                      row["reference"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if (isinstance(value, list) and len(value) == 2
                and all(isinstance(v, str) for v in value)):
            return value[0], value[1]
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    raise invalid("cursor", "cursor is not one this API gave out")


def parse_limit(raw: str | None, default: int = 50, maximum: int = 200) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise invalid("limit", f"limit must be a whole number from 1 to {maximum}")
    return int(raw)


def inbox(models: ReadModels, who: Principal, params: dict[str, str]) -> dict[str, Any]:
    where: list[str] = []
    args: list[Any] = []
    queue = params.get("queue") or ""
    team = queue[len(TEAM_PREFIX):] if queue.startswith(TEAM_PREFIX) else None
    if team is not None and not CODE_SHAPE.match(team):
        raise invalid("queue", "a team's queue is team:CODE (lower-case letters, digits, - or _)")
    if queue and team is None and queue not in QUEUES:
        raise invalid("queue", f"queue must be one of {', '.join(QUEUES)} or team:CODE")
    status = params.get("status") or ""
    if status and status not in STATUSES:
        raise invalid("status", f"status must be one of {', '.join(STATUSES)}")
    channel = params.get("channel") or ""
    if channel and channel not in CHANNELS:
        raise invalid("channel", f"channel must be one of {', '.join(CHANNELS)}")
    limit = parse_limit(params.get("limit"))

    if status:
        where.append("status = ?")
        args.append(status)
    elif queue not in ("pending_customer", "escalated"):
        where.append(f"status IN ({', '.join('?' for _ in OPEN_STATUSES)})")
        args.extend(OPEN_STATUSES)
    if team is not None:
        where.append("team = ?")
        args.append(team)
    elif queue == "unassigned":
        where.append("assignee IS NULL")
    elif queue == "mine":
        where.append("assignee = ?")
        args.append(who.email)
    elif queue in ("pending_customer", "escalated"):
        where.append("status = ?")
        args.append(queue)
    elif queue == "delivery_failed":
        where.append("delivery_failed = 1")
    elif queue == "fax_verification":
        where.append("fax_unverified > 0")
    elif queue == "sla_at_risk":
        where.append(SLA_AT_RISK)
        args.append(iso(datetime.now(UTC) + SLA_RISK_WINDOW))
    if channel:
        where.append("channel = ?")
        args.append(channel)
    if params.get("q"):
        search_clause(models, params["q"], where, args)
    sort = params.get("sort") or "activity"
    if sort not in INBOX_SORTS:
        raise invalid("sort", f"sort must be one of {', '.join(INBOX_SORTS)}")
    key, descending = INBOX_SORTS[sort]
    if params.get("cursor"):
        after, reference = decode_cursor(params["cursor"])
        beyond = "<" if descending else ">"
        where.append(f"({key} {beyond} ? OR ({key} = ? AND reference {beyond} ?))")
        args.extend([after, after, reference])
    order = "DESC" if descending else "ASC"
    sql = (f"SELECT {INBOX_COLUMNS}, {key} AS sort_key FROM inbox"
           + (" WHERE " + " AND ".join(where) if where else "")
           + f" ORDER BY {key} {order}, reference {order} LIMIT ?")
    rows = models["inbox"].query(sql, [*args, limit + 1])
    items = [_inbox_item(r) for r in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}


# How much of the timeline a search looks through, newest first: message text
# is searched by LIKE, which reads rows; a full-text index is issue 17's.
SEARCH_TIMELINE_ROWS = 5000


def like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_clause(models: ReadModels, text: str, where: list[str], args: list[Any]) -> None:
    """Requests whose reference, customer code, subject or recent message text
    holds `text` (any case; Chinese and English alike)."""
    needle = text.strip()
    if not needle:
        return
    if ids.REFERENCE_PATTERN.fullmatch(needle.upper()):  # a reference: nothing else to search
        where.append("reference = ?")
        args.append(needle.upper())
        return
    pattern = like_pattern(needle)
    mentioning = _requests_mentioning(models, needle)
    ids_marks = ", ".join("?" for _ in mentioning) or "NULL"
    where.append("(UPPER(reference) = ? OR LOWER(customer_code) LIKE ? ESCAPE '\\' "
                 f"OR LOWER(subject) LIKE ? ESCAPE '\\' OR id IN ({ids_marks}))")
    args.extend([needle.upper(), pattern, pattern, *mentioning])


def _requests_mentioning(models: ReadModels, text: str) -> list[str]:
    rows = models["timeline"].query(
        "SELECT DISTINCT request_id FROM (SELECT request_id, body FROM timeline "
        "ORDER BY position DESC LIMIT ?) recent WHERE LOWER(body) LIKE ? ESCAPE '\\'",
        (SEARCH_TIMELINE_ROWS, like_pattern(text.strip())))
    return [r["request_id"] for r in rows]


def _inbox_item(row: dict[str, Any]) -> dict[str, Any]:
    item = {k: v for k, v in row.items() if k != "sort_key"}
    item["awaiting_reply"] = bool(item["awaiting_reply"])
    item["delivery_failed"] = bool(item["delivery_failed"])
    marks = (item.pop("response_sla", None), item.pop("resolution_sla", None))
    item["sla_breached"] = "breached" in marks
    item["sla_warned"] = any(marks)
    return item


def service_request(models: ReadModels, who: Principal, reference: str) -> dict[str, Any]:
    rows = models["inbox"].query(
        "SELECT id, reference, customer_code, type, status, channel, subject, assignee, team, "
        "priority, opened_at, last_activity_at, sla_due_at, satisfaction, follow_up_of, version "
        "FROM inbox WHERE reference = ?", (reference,))
    if not rows:
        raise NotFound(f"no service request {reference}")
    header = rows[0]
    require_visible(who, header["customer_code"], f"service request {reference}")
    if customer_view.sees_own_only(who) and header["id"] not in own_request_ids(models, who):
        raise NotFound(f"no service request {reference}")
    timeline = []
    for row in models["timeline"].query(
        "SELECT at, kind, channel, direction, actor, body, attachments, data FROM timeline "
        "WHERE request_id = ? ORDER BY position", (header.pop("id"),)
    ):
        row["attachments"] = [without_keys(a) for a in from_json(row["attachments"]) or []]
        row["data"] = from_json(row["data"])
        if isinstance(row["data"], dict) and isinstance(row["data"].get("raw"), dict):
            row["data"]["raw"] = without_keys(row["data"]["raw"])
        shown = customer_view.entry_for(who, row) if who.is_customer_side else row
        if shown is not None:
            timeline.append(shown)
    if who.is_customer_side:
        header = customer_view.header_for(who, header)
    return {**header, "timeline": timeline}


def own_request_ids(models: ReadModels, who: Principal) -> set[str]:
    """The requests this person opened or wrote on (customer_view.own_actors)."""
    actors = customer_view.own_actors(who)
    rows = models["timeline"].query(
        f"SELECT DISTINCT request_id FROM timeline WHERE actor IN "
        f"({', '.join('?' for _ in actors)})", actors)
    return {r["request_id"] for r in rows}


def without_keys(attachment: Any) -> Any:
    """An attachment reference as the API shows it: without the blob's data key
    and file name (domain.blobstore), which open the file to whoever holds them."""
    if not isinstance(attachment, dict):
        return attachment
    return {k: v for k, v in attachment.items() if k not in ("key", "blob")}


def customer_360(models: ReadModels, who: Principal, code: str) -> dict[str, Any]:
    require_visible(who, code, f"customer {code}")
    rows = models["customers"].query("SELECT * FROM customers WHERE code = ?", (code,))
    if not rows:
        raise NotFound(f"no customer {code}")
    customer = rows[0]
    requests = models["inbox"].query(
        "SELECT id, reference, subject, type, status, channel, priority, assignee, opened_at, "
        "last_activity_at, satisfaction, product FROM inbox WHERE customer_code = ? "
        "ORDER BY last_activity_at DESC LIMIT 200", (code,))
    contacts = models["customers"].query(
        "SELECT at, channel, direction, kind, reference, summary FROM customer_contacts "
        "WHERE customer_id = ? ORDER BY position DESC LIMIT 20", (customer["id"],))
    if customer_view.sees_own_only(who):
        own = own_request_ids(models, who)
        requests = [r for r in requests if r.pop("id") in own]
    else:
        for r in requests:
            r.pop("id")
    ratings = [r["satisfaction"] for r in requests if r["satisfaction"] is not None]
    if who.is_customer_side:
        requests = [customer_view.header_for(who, r) for r in requests]
        contacts = [customer_view.contact_for(who, c) for c in contacts]
    products = models["customers"].query(
        "SELECT serial, model, name, status, install_address, installed_on, warranty_until, "
        "configuration, maintainer FROM customer_products WHERE customer_code = ? "
        "ORDER BY serial", (code,))
    today = datetime.now(UTC).date().isoformat()
    for product in products:
        product["configuration"] = from_json(product["configuration"])
        until = product["warranty_until"]
        product["in_warranty"] = None if until is None else until >= today
        # 维修历史: the unit's own history, from every owner it has had.
        product["requests"] = [r["reference"] for r in models["customers"].query(
            "SELECT reference FROM unit_requests WHERE serial = ? ORDER BY reference",
            (product["serial"],))]
        product["parts"] = unit_parts(models, product["serial"], who)
        product["agreements"] = unit_agreements(models, product["serial"])
    return {
        "code": customer["code"],
        "profile": {
            "name": customer["name"], "kind": customer["kind"],
            "classification": customer["classification"],
            "provisional": bool(customer["provisional"]),
            "merged_into": customer["merged_into"],
            "representative": customer["representative"],
            "registered_at": customer["registered_at"],
            **from_json(customer["profile"]),
        },
        "contacts": [{"id": contact_id, **details}
                     for contact_id, details in from_json(customer["contacts"]).items()],
        "channel_identities": from_json(customer["identities"]),
        "preferences": from_json(customer["preferences"]),
        "installed_products": products,
        "open_requests": [r for r in requests if r["status"] in OPEN_STATUSES],
        "closed_requests": [r for r in requests if r["status"] not in OPEN_STATUSES],
        "recent_interactions": contacts,
        "satisfaction": {
            "ratings": len(ratings),
            "average": round(sum(ratings) / len(ratings), 2) if ratings else None,
        },
    }


def unit_agreements(models: ReadModels, serial: str) -> list[dict[str, Any]]:
    """The unit's service agreements, each with whether it is in force today (UTC)."""
    if "unit_history" not in models:
        return []
    return agreements(models["unit_history"], serial, datetime.now(UTC).date().isoformat())


def unit_parts(models: ReadModels, serial: str, who: Principal) -> list[dict[str, Any]]:
    """The unit's part replacements (projections.unit_history); customers are not
    told which engineer did it."""
    if "unit_history" not in models:
        return []
    parts = part_history(models["unit_history"], serial)
    if who.is_customer_side:
        parts = [{k: v for k, v in p.items() if k != "engineer"} for p in parts]
    return parts


def audit_filter(params: dict[str, str]) -> AuditFilter:
    """The export's filters from query parameters (or CLI options of the same names)."""
    reference = params.get("request") or None
    if reference and not ids.REFERENCE_PATTERN.match(reference):
        raise NotFound(f"no service request {reference}")
    actor = (params.get("actor") or "").strip() or None
    if actor and "@" in actor and ":" not in actor:
        actor = ids.normalise_email(actor)  # staff actors are user emails, as normalised
    since, until = time_bounds(params.get("since") or None, params.get("until") or None)
    return AuditFilter(customer=params.get("customer") or None, reference=reference,
                       actor=actor, since=since, until=until)


def access_filter(params: dict[str, str]) -> AccessFilter:
    """The access log's filters: the same names and forms as the audit export's."""
    wanted = audit_filter(params)
    return AccessFilter(actor=wanted.actor, subject=wanted.customer or wanted.reference,
                        since=wanted.since, until=wanted.until)


def audit(models: ReadModels, who: Principal, params: dict[str, str]) -> dict[str, Any]:
    """Audit events matching every filter given (none: the whole trail), by page."""
    wanted = audit_filter(params)
    limit = parse_limit(params.get("limit"), default=1000, maximum=5000)
    after = params.get("cursor") or "0"
    if not after.isdigit():
        raise invalid("cursor", "cursor is not one this API gave out")
    if after == "0" and (why := unknown_subject(models["audit"], wanted)):
        raise NotFound(why)
    rows = audit_events(models["audit"], wanted, int(after), limit + 1)
    events = [{**r, "data": from_json(r["data"])} for r in rows[:limit]]
    next_cursor = str(rows[limit - 1]["position"]) if len(rows) > limit else None
    return {"events": events, "next_cursor": next_cursor}


def attachment(models: ReadModels, who: Principal, reference: str, number: int
               ) -> dict[str, Any]:
    """The `number`th attachment (from 0, in timeline order) of a request, with
    the blob's key, for a download by someone who may see the request."""
    rows = models["inbox"].query("SELECT id, customer_code FROM inbox WHERE reference = ?",
                                 (reference,))
    if not rows:
        raise NotFound(f"no service request {reference}")
    require_visible(who, rows[0]["customer_code"], f"service request {reference}")
    if customer_view.sees_own_only(who) and rows[0]["id"] not in own_request_ids(models, who):
        raise NotFound(f"no service request {reference}")
    found: list[dict[str, Any]] = []
    for row in models["timeline"].query(
            "SELECT kind, attachments FROM timeline WHERE request_id = ? ORDER BY position",
            (rows[0]["id"],)):
        if who.is_customer_side and row["kind"] not in customer_view.VISIBLE_BODY:
            continue  # the same rule as the timeline customers see
        found.extend(a for a in from_json(row["attachments"]) or [] if isinstance(a, dict))
    if not 0 <= number < len(found):
        raise NotFound(f"{reference} has no attachment {number + 1}")
    return found[number]

