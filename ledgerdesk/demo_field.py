"""Demo data for field service and spare parts (issue 16): a service agreement on
the MX-3000, the spare-parts store, and the hotline intake of the paper-jam
request (on site, in warranty), ready for a coordinator to dispatch to the demo
engineer, who then walks the visit, the report and the customer's signature.

The job stops at the intake on purpose: the OpenAPI fuzzer (which loads this
demo) uses SR-000001 as its example, and an engineer-only step on a job
dispatched to someone else would be its admin's 403."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.application import Ledgerdesk
from domain.field_service.commands import RecordIntake
from domain.installed_base.commands import AddServiceAgreement
from domain.parts.commands import ReceiveParts

COORDINATOR = "agent@ledgerdesk.example"
ADMIN = "admin@ledgerdesk.example"


def load(app: Ledgerdesk, jam: str) -> None:
    today = datetime.now(UTC).date()
    app.handle(AddServiceAgreement(
        "MX3000-2024-00817", "SA-HX-2026", today.replace(month=1, day=1).isoformat(),
        (today + timedelta(days=365)).isoformat(), actor=ADMIN, level="gold"))
    for sku, warehouse, qty in (("PR-3000-17", "BJ", 10), ("CMP-500", "BJ", 2),
                                ("FAN-220V", "BJ", 6), ("FAN-220V", "SH", 4)):
        app.handle(ReceiveParts(sku, warehouse, qty, actor=ADMIN))
    app.handle(RecordIntake(jam, "每天卡纸，错误代码 J-17", "in", "on_site", actor=COORDINATOR,
                            level="key_account"))
