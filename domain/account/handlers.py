"""Handlers of the account context.

`RecordAccountDocument` answers what happened, so an import can count it:
"recorded" (new), "revised" (its content changed) or "unchanged" (the same
content again: nothing is written).  A race between two imports of the same
document is a version conflict; the retry reads the winner's and compares.
"""

from __future__ import annotations

from typing import Literal

from domain.account.commands import RecordAccountDocument
from domain.account.documents import checked_document
from domain.aggregates.account_document import AccountDocument, document_id
from domain.commands import Handlers
from domain.customers.handlers import load_customer
from domain.store import Store

handlers = Handlers()

Outcome = Literal["recorded", "revised", "unchanged"]


def find_document(store: Store, customer_code: str, kind: str,
                  number: str) -> AccountDocument | None:
    return store.get(AccountDocument, document_id(customer_code, kind, number))


@handlers(RecordAccountDocument)
def record_document(store: Store, c: RecordAccountDocument) -> Outcome:
    document = checked_document(c.kind, c.record)
    customer = load_customer(store, c.customer_code)
    customer.require_active()  # erased or merged: nothing more is written for them

    def attempt() -> Outcome:
        found = find_document(store, customer.code, document.kind, document.number)
        if found is None:
            store.save(AccountDocument.record(customer.code, document, c.actor))
            return "recorded"
        if not found.import_again(document, c.actor):
            return "unchanged"
        store.save(found)
        return "revised"

    return store.retrying(attempt)
