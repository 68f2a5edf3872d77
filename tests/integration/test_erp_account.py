"""ERP documents through `ledgerdesk erp import` into the portal's "My
account", on SQLite and PostgreSQL: JSON lines and CSV, re-imports that change
nothing, revisions, refused lines, one organisation's documents hidden from
another, sorting, searching, escaping, and erasure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.account.commands import RecordAccountDocument
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.customers.commands import EraseCustomer, RegisterCustomer
from domain.errors import InvalidInput
from domain.users.commands import AddUser
from ledgerdesk.asgi import create_app
from ledgerdesk.config import Database, Settings
from projections import account
from projections.registry import open_read_models
from tests.integration.test_cli import ledgerdesk
from tests.integration.test_portal import Portal
from tests.support.desks import PASSWORD

LI, WANG = "li@acme.cn", "wang@other.cn"
SCRIPT = "<script>alert(7)</script>"


def order(number: str, **changes: object) -> dict[str, object]:
    return {"customer": "ACME", "number": number, "date": "2026-03-01", "status": "open",
            "amount": "1200.00", "currency": "CNY", "ship_to": "北京市海淀区 5 号",
            "lines": [{"sku": "PR-3000-17", "description": "搓纸轮 " + SCRIPT, "qty": 2,
                       "unit_price": "600"}], **changes}


def write_jsonl(path: Path, *records: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


@pytest.fixture
def portal(store: Database, app: Ledgerdesk, tmp_path: Path) -> Iterator[Portal]:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    app.handle(RegisterCustomer("OTHER", "别家", actor="setup"))
    app.handle(AddUser(LI, ["customer"], actor="setup", customer_code="ACME", password=PASSWORD))
    app.handle(AddUser(WANG, ["customer"], actor="setup", customer_code="OTHER",
                       password=PASSWORD))
    settings = Settings(database=store, data_dir=tmp_path, blob_dir=tmp_path / "b",
                        secret_key="k")
    models = open_read_models(settings, app)
    asgi = create_app(app, models, secret_key="s", blobs=BlobStore(tmp_path / "b", 4000))
    yield Portal(app, models, asgi)
    models.close()


def event_count(app: Ledgerdesk) -> int:
    return app.recorder.max_notification_id() or 0


def test_jsonl_import_is_idempotent_and_a_change_is_a_revision(
        portal: Portal, store: Database, tmp_path: Path) -> None:
    first = write_jsonl(tmp_path / "orders.jsonl", order("SO-1"),
                        order("SO-2", amount=99.5, date="2026-02-01", status="shipped"))
    done = ledgerdesk(store, tmp_path, "erp", "import", str(first), "--kind", "order")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "recorded 2, revised 0, unchanged 0, refused 0"
    before = event_count(portal.app)
    again = ledgerdesk(store, tmp_path, "erp", "import", str(first), "--kind", "order")
    assert again.stdout.strip() == "recorded 0, revised 0, unchanged 2, refused 0"
    assert event_count(portal.app) == before  # nothing new in the log

    changed = write_jsonl(tmp_path / "orders2.jsonl", order("SO-1", status="shipped",
                                                            ship_to="上海市徐汇区 8 号"),
                          order("SO-2", amount="99.50", date="2026-02-01", status="shipped"))
    revised = ledgerdesk(store, tmp_path, "erp", "import", str(changed), "--kind", "order")
    assert revised.stdout.strip() == "recorded 0, revised 1, unchanged 1, refused 0"
    assert event_count(portal.app) == before + 1
    portal.project()
    page = portal.browser(LI).get("/portal/account/orders/SO-1")
    assert page.status_code == 200
    assert "上海市徐汇区 8 号" in page.text and "北京市海淀区" not in page.text
    assert 'data-status="shipped"' in page.text
    # Script in a line's description is text, never markup.
    assert "搓纸轮 &lt;script&gt;alert(7)&lt;/script&gt;" in page.text
    assert SCRIPT not in page.text


def test_csv_import_groups_order_lines_and_refuses_bad_lines_by_number(
        portal: Portal, store: Database, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer,number,date,status,amount,currency,sku,description,qty,unit_price\n"
        "ACME,SO-7,2026-01-05,open,300,CNY,X-1,螺丝,3,50\n"
        "ACME,SO-7,2026-01-05,open,300,CNY,X-2,螺母,3,50\n"
        "ACME,SO-8,2026-01-06,open,12.5,CNY,X-3,垫片,1,\n"
        "ACME,SO-9,2026-13-06,open,1,CNY,X-3,垫片,1,\n"
        "ACME,SO-10,2026-01-06,open,1.5.5,CNY,X-3,垫片,1,\n"
        "NOBODY,SO-11,2026-01-06,open,1,CNY,X-3,垫片,1,\n"
        "ACME,SO-12,2026-01-06,open,1,CNY,X-3,垫片,0,\n", encoding="utf-8")
    done = ledgerdesk(store, tmp_path, "erp", "import", str(path), "--kind", "order")
    assert done.returncode == 1
    assert done.stdout.strip() == "recorded 2, revised 0, unchanged 0, refused 4"
    errors = done.stderr.strip().splitlines()
    assert [e.split(": ", 2)[1] for e in errors] == [
        f"{path} line {n}" for n in (5, 6, 7, 8)]
    assert "date" in errors[0] and "amount" in errors[1] and "no customer" in errors[2]
    assert "qty" in errors[3] and "Traceback" not in done.stderr
    portal.project()
    found = account.document(portal.models["account"], "ACME", "order", "SO-7")
    assert found is not None
    assert [line["sku"] for line in found["lines"]] == ["X-1", "X-2"]
    assert found["amount"] == "300.00"


def test_a_kind_field_and_other_kinds(portal: Portal, store: Database, tmp_path: Path) -> None:
    shipments = write_jsonl(tmp_path / "s.jsonl", {
        "kind": "shipment", "customer": "ACME", "number": "SH-1", "date": "2026-03-02",
        "status": "in_transit", "order": "SO-1", "carrier": "SF Express",
        "tracking_number": "SF1234567890"}, {
        "kind": "invoice", "customer": "ACME", "number": "INV-1", "date": "2026-03-02",
        "status": "open", "amount": "1", "currency": "CNY"}, {
        "kind": "shipment", "customer": "ACME", "number": "SH-2", "date": "2026-03-02",
        "status": "shipped", "order": "SO-1"}, {
        "kind": "shipment", "customer": "ACME", "number": "SH-3", "date": "2026-03-02",
        "status": "shipped", "order": "SO-1", "carrier": "SF", "tracking_number": "SF1",
        "note": "a\u0000b"})
    done = ledgerdesk(store, tmp_path, "erp", "import", str(shipments))
    assert done.stdout.strip() == "recorded 1, revised 0, unchanged 0, refused 3"
    assert "line 4: note contains a control character (U+0000)" in done.stderr
    assert "line 2: kind invoice in a file of shipment" in done.stderr
    assert "line 3: carrier is required" in done.stderr
    no_kind = write_jsonl(tmp_path / "x.jsonl", {"customer": "ACME", "number": "P-1"})
    refused = ledgerdesk(store, tmp_path, "erp", "import", str(no_kind))
    assert refused.returncode == 1 and "give --kind or a kind field" in refused.stderr
    portal.project()
    page = portal.browser(LI).get("/portal/account/shipments/SH-1").text
    assert "SF1234567890" in page and "SF Express" in page


def test_a_customer_sees_only_their_own_organisations_documents(portal: Portal) -> None:
    app = portal.app
    app.handle(RecordAccountDocument("ACME", "invoice", {
        "number": "INV-9", "date": "2026-01-01", "status": "open", "amount": "10",
        "currency": "CNY"}, actor="t"))
    app.handle(RecordAccountDocument("OTHER", "invoice", {
        "number": "INV-77", "date": "2026-01-01", "status": "paid", "amount": "10",
        "currency": "EUR"}, actor="t"))
    portal.project()
    li, wang = portal.browser(LI), portal.browser(WANG)
    assert li.get("/portal/account/invoices/INV-9").status_code == 200
    foreign = li.get("/portal/account/invoices/INV-77")
    unknown = li.get("/portal/account/invoices/INV-0")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.text.replace("INV-77", "INV-0") == unknown.text
    assert "INV-77" not in li.get("/portal/account/invoices").text
    assert "INV-9" not in wang.get("/portal/account/invoices").text
    assert li.get("/portal/account/nothing").status_code == 404
    overview = li.get("/portal/account").text
    assert 'data-kind="invoice"' in overview and 'data-count="1"' in overview
    for path in ("/portal/account/orders", "/portal/account/shipments",
                 "/portal/account/payments", "/portal/account/returns"):
        empty = li.get(path)
        assert empty.status_code == 200 and "open a request and tell us its number" in empty.text


def test_lists_sort_search_and_page(portal: Portal) -> None:
    for number, day, amount, status in (("P-1", "2026-01-03", "5", "received"),
                                        ("P-2", "2026-01-01", "1000", "pending"),
                                        ("P-3", "2026-01-02", "20.5", "failed")):
        portal.app.handle(RecordAccountDocument("ACME", "payment", {
            "number": number, "date": day, "status": status, "amount": amount,
            "currency": "CNY", "invoice": "INV-" + number, "note": "备注 " + number},
            actor="t"))
    portal.project()
    li = portal.browser(LI)

    def numbers(query: str) -> list[str]:
        text = li.get("/portal/account/payments" + query).text
        return [part.split('"', 1)[0] for part in text.split('data-number="')[1:]]

    assert numbers("") == ["P-1", "P-3", "P-2"]  # newest first
    assert numbers("?sort=amount&dir=desc") == ["P-2", "P-3", "P-1"]  # as numbers, not text
    assert numbers("?sort=amount&dir=asc") == ["P-1", "P-3", "P-2"]
    assert numbers("?sort=number&dir=asc") == ["P-1", "P-2", "P-3"]
    assert numbers("?sort=status&dir=asc") == ["P-3", "P-2", "P-1"]
    assert numbers("?q=备注 P-3") == ["P-3"]
    assert numbers("?q=p-2") == ["P-2"]
    assert numbers("?q=%25") == []
    assert "Nothing matches your search." in li.get("/portal/account/payments?q=zzz").text
    paged = account.documents(portal.models["account"], "ACME", "payment", per_page=2, page=2)
    assert paged["total"] == 3 and paged["pages"] == 2
    assert [d["number"] for d in paged["items"]] == ["P-2"]


def test_the_domain_refuses_what_cannot_be_a_document(app: Ledgerdesk) -> None:
    app.handle(RegisterCustomer("ACME", "艾克美", actor="setup"))
    base = {"number": "INV-1", "date": "2026-01-01", "status": "open", "currency": "CNY"}
    for bad, field in (({**base, "amount": 1.5}, "amount"), ({**base, "amount": "NaN"}, "amount"),
                       ({**base}, "amount"), ({**base, "amount": "1", "colour": "x"}, "colour"),
                       # A control character: the dispatcher names the command's field.
                       ({**base, "amount": "1", "note": "a\x00b"}, "record")):
        with pytest.raises(InvalidInput) as refused:
            app.handle(RecordAccountDocument("ACME", "invoice", bad, actor="t"))
        assert field in refused.value.fields or field in refused.value.message


def test_erasure_redacts_the_account_as_a_rebuild_does(portal: Portal) -> None:
    portal.app.handle(RecordAccountDocument("ACME", "order", {
        k: v for k, v in order("SO-5").items() if k != "customer"}, actor="t"))
    portal.project()
    portal.app.handle(EraseCustomer("ACME", "request 1", actor="admin"))
    portal.project()
    storage = portal.models["account"]
    found = account.document(storage, "ACME", "order", "SO-5")
    assert found is not None
    assert found["text"] == {"ship_to": "[erased]"}
    assert found["lines"][0]["description"] == "[erased]"
    assert found["lines"][0]["sku"] == "PR-3000-17" and found["amount"] == "1200.00"
    assert account.documents(storage, "ACME", "order", q="搓纸轮")["total"] == 0
    rows = storage.query("SELECT * FROM account_documents ORDER BY id")
    portal.models.projector("account").rebuild()
    assert storage.query("SELECT * FROM account_documents ORDER BY id") == rows
