"""AccountDocument: one ERP document (order, shipment, invoice, payment,
return) of one customer, as the portal's "My account" shows it.

One aggregate per (customer code, kind, document number).  Its id is a keyed
HMAC of those (domain.ids.keyed_id, under the master key's index key) rather
than a uuid5: the triple is not secret, but an id anyone can recompute says
"this customer had invoice 2026-0042" without a key, after the customer's
erasure too.  Recording the same number twice is then a version-1 conflict in
the store's own write, so two imports racing collapse to one document.

Idempotency: each event carries a keyed digest of the normalised document
(`content_hash`); importing it again with the same content records nothing,
and a changed document records `Revised` with the whole new content, so a read
model replaces its row without knowing the earlier events.  The digest is
keyed for the same reason as the id: a plain hash of a document would let a
reader confirm a guessed address after the erasure.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.account.documents import PLAIN_LINE_KEYS, Document
from domain.personal import PersonalData, Rule, fields


def document_id(customer_code: str, kind: str, number: str) -> UUID:
    return ids.keyed_id(f"account-document:{customer_code}:{kind}:{number}")


def content_hash(customer_code: str, document: Document) -> str:
    """A keyed digest of everything the document says, in a canonical spelling."""
    canonical = json.dumps(
        [customer_code, document.kind, document.number, document.facts, document.text,
         document.lines], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return ids.keyed_id(f"account-content:{canonical}").hex


class AccountDocument(Aggregate):
    # The customer's; amounts, dates, statuses, numbers and SKUs stay readable
    # after an erasure (a unit's order history is a technical fact), while who,
    # where and whatever people wrote (addresses, names, notes, line
    # descriptions) are sealed with the customer's key (domain.personal).
    personal_data = PersonalData(
        owner=lambda document: document.customer_code,
        events={
            "Recorded": fields(plain="customer_code kind number facts content_hash",
                               personal="text", lines=Rule(keep=PLAIN_LINE_KEYS)),
            "Revised": fields(plain="facts content_hash", personal="text",
                              lines=Rule(keep=PLAIN_LINE_KEYS)),
        },
    )

    @staticmethod
    def create_id(customer_code: str, kind: str, number: str, **_: object) -> UUID:
        return document_id(customer_code, kind, number)

    @classmethod
    def record(cls, customer_code: str, document: Document, actor: str) -> AccountDocument:
        return cls(customer_code=customer_code, kind=document.kind, number=document.number,
                   facts=document.facts, text=document.text, lines=document.lines,
                   content_hash=content_hash(customer_code, document), actor=actor)

    @event("Recorded")
    def __init__(
        self,
        customer_code: str,
        kind: str,
        number: str,
        facts: dict[str, Any],
        text: dict[str, str],
        lines: list[dict[str, Any]],
        content_hash: str,
        actor: str,
    ) -> None:
        self.customer_code = customer_code
        self.kind = kind
        self.number = number
        self.facts = facts
        self.text = text
        self.lines = lines
        self.content_hash = content_hash
        self.revisions = 0

    def import_again(self, document: Document, actor: str) -> bool:
        """Record `document` as this one's new content when it differs; whether it did."""
        digest = content_hash(self.customer_code, document)
        if digest == self.content_hash:
            return False
        self._revised(facts=document.facts, text=document.text, lines=document.lines,
                      content_hash=digest, actor=actor)
        return True

    @event("Revised")
    def _revised(
        self,
        facts: dict[str, Any],
        text: dict[str, str],
        lines: list[dict[str, Any]],
        content_hash: str,
        actor: str,
    ) -> None:
        self.facts = facts
        self.text = text
        self.lines = lines
        self.content_hash = content_hash
        self.revisions += 1
