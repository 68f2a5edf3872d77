"""The "call back" flag of a fax customer's request in the console.

Replies to a fax go by email when the customer has an address (CONTRACT.md,
"Where a reply goes"); when they have none the domain refuses a reply, so the
request's header says so up front: "Call back" with the number to ring (the
callback phone the fax gave, as read or corrected, else its sender's number).
It is worked out from the read models on each view, so it follows the
customer's addresses and the agents' corrections as they change.
"""

from __future__ import annotations

from typing import Any


def data_of(entry: dict[str, Any]) -> dict[str, Any]:
    data = entry.get("data")
    return data if isinstance(data, dict) else {}


def call_back(sr: dict[str, Any], customer: dict[str, Any] | None,
              reply_channels: frozenset[str]) -> str | None:
    """The number to call back, when the request's customer last wrote by fax and a
    reply cannot reach them (no email address, or no email sender: the domain then
    refuses the reply, domain.requests.routing); None when a reply can go by email.
    The number is the fax's callback phone as read (and corrected), else its sender's."""
    timeline = sr.get("timeline") or []
    inbound = [e for e in timeline if e.get("direction") == "inbound" and e.get("channel")]
    if (inbound[-1]["channel"] if inbound else sr.get("channel")) != "fax":
        return None
    identities = (customer or {}).get("channel_identities") or []
    if "email" in reply_channels and any(
            isinstance(i, dict) and i.get("kind") == "email" for i in identities):
        return None
    fax = next((e for e in reversed(timeline) if e["kind"] == "fax"), None)
    if fax is None:
        return None
    data = data_of(fax)
    fields = dict(data.get("extracted") or {})
    for entry in timeline:
        entry_data = data_of(entry)
        if entry["kind"] == "fax_correction" and \
                entry_data.get("external_id") == data.get("external_id") and \
                isinstance(entry_data.get("corrections"), dict):
            fields.update(entry_data["corrections"])
    return str(fields.get("phone") or fields.get("sender_number") or data.get("sender") or "") \
        or None
