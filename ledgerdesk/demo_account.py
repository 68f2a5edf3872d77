"""Demo ERP documents for HUAXIN's "My account": a few of each kind, linked
the way an ERP links them (shipments and invoices name their order, payments
their invoice), recorded through the same command `erp import` uses."""

from __future__ import annotations

from typing import Any

from domain.account.commands import RecordAccountDocument
from domain.application import Ledgerdesk

ACTOR = "demo-loader"
ADDRESS = "北京市海淀区中关村南大街 5 号 3 层 设备科"

DOCUMENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("order", {"number": "SO-2026-0117", "date": "2026-01-17", "status": "completed",
               "amount": "4860.00", "currency": "CNY", "ship_to": ADDRESS, "contact": "李伟",
               "lines": [{"sku": "TN-3000-BK", "description": "MX-3000 黑色碳粉盒",
                          "qty": 6, "unit_price": "560.00"},
                         {"sku": "PR-3000-17", "description": "搓纸轮组件", "qty": 2,
                          "unit_price": "750.00"}]}),
    ("order", {"number": "SO-2026-0342", "date": "2026-03-04", "status": "shipped",
               "amount": "12800.00", "currency": "CNY", "ship_to": ADDRESS,
               "lines": [{"sku": "CH-500-CMP", "description": "CH-500 压缩机（更换件）",
                          "qty": 1, "unit_price": "12800.00"}]}),
    ("order", {"number": "SO-2026-0388", "date": "2026-03-19", "status": "confirmed",
               "amount": "1120.00", "currency": "CNY", "ship_to": ADDRESS,
               "lines": [{"sku": "TN-3000-BK", "description": "MX-3000 黑色碳粉盒",
                          "qty": 2, "unit_price": "560.00"}]}),
    ("shipment", {"number": "SH-2026-0120", "date": "2026-01-20", "status": "delivered",
                  "order": "SO-2026-0117", "carrier": "SF Express",
                  "tracking_number": "SF1402266871", "shipped_on": "2026-01-20",
                  "delivered_on": "2026-01-21", "ship_to": ADDRESS}),
    ("shipment", {"number": "SH-2026-0351", "date": "2026-03-06", "status": "in_transit",
                  "order": "SO-2026-0342", "carrier": "ZTO Express",
                  "tracking_number": "ZT7730012245", "shipped_on": "2026-03-06",
                  "ship_to": ADDRESS}),
    ("invoice", {"number": "INV-2026-0098", "date": "2026-01-21", "status": "paid",
                 "amount": "4860.00", "currency": "CNY", "order": "SO-2026-0117",
                 "due_date": "2026-02-20"}),
    ("invoice", {"number": "INV-2026-0231", "date": "2026-03-06", "status": "partially_paid",
                 "amount": "12800.00", "currency": "CNY", "order": "SO-2026-0342",
                 "due_date": "2026-04-05"}),
    ("payment", {"number": "PAY-2026-0077", "date": "2026-02-15", "status": "received",
                 "amount": "4860.00", "currency": "CNY", "invoice": "INV-2026-0098",
                 "method": "bank transfer"}),
    ("payment", {"number": "PAY-2026-0190", "date": "2026-03-20", "status": "received",
                 "amount": "6400.00", "currency": "CNY", "invoice": "INV-2026-0231",
                 "method": "bank transfer", "note": "首期 50%"}),
    ("return", {"number": "RMA-2026-0009", "date": "2026-01-28", "status": "refunded",
                "order": "SO-2026-0117", "amount": "560.00", "currency": "CNY",
                "reason": "碳粉盒运输途中破损，已拍照",
                "lines": [{"sku": "TN-3000-BK", "description": "MX-3000 黑色碳粉盒",
                           "qty": 1}]}),
    ("return", {"number": "RMA-2026-0021", "date": "2026-03-21", "status": "requested",
                "order": "SO-2026-0342", "reason": "压缩机包装受损，待检验"}),
)


def load(app: Ledgerdesk, customer_code: str = "HUAXIN") -> None:
    for kind, record in DOCUMENTS:
        app.handle(RecordAccountDocument(customer_code, kind, dict(record), actor=ACTOR))
