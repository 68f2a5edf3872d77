"""Commands of the account context: documents the ERP sends for the portal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecordAccountDocument:
    """One ERP document as exported: `record` holds its fields by name (number,
    date, status, amount, currency, lines, ...; domain.account.documents says
    which per kind).  Recording the same content again changes nothing."""

    customer_code: str
    kind: str
    record: dict[str, Any]
    actor: str
