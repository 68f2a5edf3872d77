"""Who a fax nobody could place is filed under, on SQLite and PostgreSQL: a provisional
customer per sender's number (so the next fax from that number finds it), the shared
P-FAX-UNKNOWN only when no number is known; and an agent who gives a fax held by
P-FAX-UNKNOWN (or by a misread number) its sender's number files it under that number's
customer. Recorded through the domain (RecordFax) with the OCR result given outright:
OCR accuracy is test_fax.py's business.
"""

from __future__ import annotations

import hashlib

from domain import ids
from domain.aggregates.customer import Customer
from domain.application import Ledgerdesk
from domain.customers.commands import LinkIdentity, RegisterCustomer
from domain.requests.commands import CorrectFax, FaxPage, Recorded, RecordFax
from domain.requests.fax import UNKNOWN_SENDER

IMAGE = {"id": "0" * 32, "filename": "fax.png", "content_type": "image/png", "size": 1,
         "key": "k", "sha256": "0" * 64}


def fax(app: Ledgerdesk, name: str, sender: str, text: str = "请尽快安排维修。") -> Recorded:
    return app.handle(RecordFax(FaxPage(
        external_id=hashlib.sha256(name.encode()).hexdigest(), sender_number=sender,
        image=IMAGE, ocr_text=text, confidence=88.0, pages=1,
        extracted={"sender_number": sender} if sender else {})))


def customer(app: Ledgerdesk, code: str) -> Customer:
    found = app.store.get(Customer, ids.customer_id(code))
    assert found is not None, code
    return found


def test_a_provisional_customer_per_number_and_p_fax_unknown_only_without_one(
    app: Ledgerdesk
) -> None:
    first = fax(app, "a", "0755-8888-2222")
    again = fax(app, "b", "0755 8888 2222")  # the same number, printed otherwise
    other = fax(app, "c", "+86-21-5555-0101")
    nobody = fax(app, "d", "")
    too_short = fax(app, "e", "12")

    assert first.new_customer and first.customer_code.startswith("P-")
    assert first.customer_code != UNKNOWN_SENDER
    assert again.customer_code == first.customer_code and not again.new_customer
    assert other.customer_code not in (first.customer_code, UNKNOWN_SENDER)
    assert nobody.customer_code == too_short.customer_code == UNKNOWN_SENDER
    holder = customer(app, first.customer_code)
    assert holder.provisional
    assert holder.has_identity("fax", ids.normalise_identity("fax", "0755-8888-2222"))
    # Each waits for an agent; P-FAX-UNKNOWN holds both faxes that named no number,
    # each on a request of its own.
    for recorded in (first, again, other, nobody, too_short):
        assert app.service_request(recorded.reference).unverified_faxes
    assert nobody.reference != too_short.reference
    assert customer(app, UNKNOWN_SENDER).provisional


def test_an_agent_giving_the_number_files_the_fax_under_that_numbers_customer(
    app: Ledgerdesk
) -> None:
    # Data recorded before: a fax held by P-FAX-UNKNOWN stays readable and workable.
    waiting = fax(app, "old", "")
    assert waiting.customer_code == UNKNOWN_SENDER
    [external_id] = app.service_request(waiting.reference).unverified_faxes

    filed = app.handle(CorrectFax(waiting.reference, external_id,
                                  {"sender_number": "010-7777-1111"}, actor="agent@desk.cn",
                                  confirm=True))
    assert filed != waiting.reference
    moved = app.service_request(filed)
    assert moved.customer_code != UNKNOWN_SENDER and moved.faxes[external_id]["verified"]
    assert customer(app, moved.customer_code).provisional
    assert app.service_request(waiting.reference).status == "closed"
    # The next fax from that number finds its customer at once.
    later = fax(app, "later", "010-7777-1111")
    assert later.customer_code == moved.customer_code and not later.new_customer

    # A misread number, held by a stranger's provisional customer: corrected to a number
    # a registered customer is known by, the fax goes to that customer.
    app.handle(RegisterCustomer("HUAXIN", "华信精密机械有限公司", actor="t"))
    app.handle(LinkIdentity("HUAXIN", "fax", "0755-8888-2222", actor="t"))
    misread = fax(app, "misread", "0755-8883-2222")
    assert misread.customer_code.startswith("P-") and misread.customer_code != "HUAXIN"
    [misread_id] = app.service_request(misread.reference).unverified_faxes
    target = app.handle(CorrectFax(misread.reference, misread_id,
                                   {"sender_number": "0755-8888-2222"}, actor="agent@desk.cn",
                                   confirm=True))
    assert app.service_request(target).customer_code == "HUAXIN"

    # Confirmed as read, a stranger's fax stays with the stranger's customer.
    stranger = fax(app, "stranger", "021-6666-3333")
    [stranger_id] = app.service_request(stranger.reference).unverified_faxes
    assert app.handle(CorrectFax(stranger.reference, stranger_id, {}, actor="agent@desk.cn",
                                 confirm=True)) == stranger.reference
    # Cleared, the number no longer moves anything: it stays where it is.
    nameless = fax(app, "nameless", "")
    [nameless_id] = app.service_request(nameless.reference).unverified_faxes
    assert app.handle(CorrectFax(nameless.reference, nameless_id, {"sender_number": ""},
                                 actor="agent@desk.cn", confirm=True)) == nameless.reference
    assert app.service_request(nameless.reference).customer_code == UNKNOWN_SENDER
