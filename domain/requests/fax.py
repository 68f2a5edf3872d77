"""Faxes: recording one after OCR, and the agents' verification of what was read.

What OCR read from a page is a claim, and a misread one: a fax joins a request
only when the reference it names belongs to the customer whose code it also
names, opens a new request only for a customer code that exists, and otherwise
(or when the channel says it trusts nothing it read) is recorded as any
stranger's message would be, on a request flagged for verification.  The
verification queue is where an agent sees the image beside the text, corrects
the fields (a `FaxCorrected` event, where "" clears a misread field; the OCR
text and image are never touched)
and confirms (`FaxVerified`).  Confirming with a reference or customer other
than the request's files the fax there, as a new `FaxReceived` under that
customer's key, and closes the request the fax opened: each customer's copy is
sealed with their own key, so erasing one never reaches the other's.
"""

from __future__ import annotations

import contextlib

from eventsourcing.persistence import IntegrityError

from domain import ids
from domain.aggregates.customer import Customer
from domain.aggregates.service_request import ServiceRequest
from domain.commands import Handlers
from domain.customers.handlers import checked_identity, customer_by_identity
from domain.errors import ConcurrentChange, InvalidInput, InvalidTransition, NotFound, invalid
from domain.requests.commands import CorrectFax, FaxPage, InboundMessage, Recorded, RecordFax
from domain.requests.interactions import provisional_customer, record_interaction
from domain.requests.lookup import find_request, load_request
from domain.requests.opening import first_line, new_request
from domain.store import Pending, Store

handlers = Handlers()

# The fields read from a fax, which an agent may correct.
FAX_FIELDS = ("reference", "customer_code", "phone", "serial", "sender_number")
FIELD_LIMIT = 100

# Why a fax waits for an agent (plain words: technical facts, nothing personal).
LOW_CONFIDENCE = "low_confidence"
NO_CUSTOMER = "no_customer"
REFERENCE_NOT_MATCHED = "reference_not_matched"
# Nothing to read: the file is damaged, encrypted or no image; or a fax
# gateway's mail came with no fax attached (the mail itself is kept instead).
UNREADABLE = "unreadable"
NO_FAX_ATTACHED = "no_fax_attached"
PROBLEMS = (UNREADABLE, NO_FAX_ATTACHED)
# Where a fax with no number and no customer waits for an agent: a provisional
# customer of its own, since recording needs one and no identity can be claimed.
UNKNOWN_SENDER = "P-FAX-UNKNOWN"


@handlers(RecordFax)
def record_fax(store: Store, c: RecordFax) -> Recorded:
    fax = c.fax
    occurred_at = fax.occurred_at or store.clock.now()
    who = c.actor or f"fax:{fax.sender_number or 'unknown'}"
    extracted = _checked_fields(dict(fax.extracted))
    reference, customer_code, reasons = _match(store, fax, extracted)
    if reference is None and customer_code is None and not _usable_number(fax.sender_number):
        customer_code = _unknown_sender(store, who)
    message = InboundMessage(
        channel="fax", external_id=fax.external_id, sender=fax.sender_number or "unknown",
        body=fax.ocr_text, occurred_at=occurred_at, reference=reference,
        customer_code=customer_code,
        # Unmatched, a reference read from the page is still a claim, vetted
        # against the sender's number like any other.
        thread_hints=(fax.reference,) if fax.reference and not reference else (),
    )
    # Decided once the thread is known: a fax from a number its customer is known
    # by needs nobody's check unless the channel distrusts its own reading.
    verdict: dict[str, bool] = {}

    def apply(request: ServiceRequest) -> None:
        owner = _customer(store, request.customer_code)
        known = reference is not None or (customer_code not in (None, UNKNOWN_SENDER)) or (
            owner is not None and not owner.provisional)
        flagged = list(reasons) if (reasons and (fax.low_confidence or not known)) else []
        verdict["needs"] = bool(flagged)
        request.receive_fax(
            external_id=fax.external_id, sender_number=fax.sender_number, image=fax.image,
            ocr_text=fax.ocr_text, confidence=fax.confidence, pages=fax.pages,
            occurred_at=occurred_at, actor=who,
            page_texts=list(fax.page_texts or (fax.ocr_text,)),
            page_confidences=list(fax.page_confidences or (fax.confidence,)),
            previews=list(fax.previews), extracted=extracted,
            needs_verification=bool(flagged), verification_reasons=flagged,
        )

    return record_interaction(store, message, apply, who, kind="fax", direction="inbound",
                              subject=first_line(fax.ocr_text) or "Fax")


def _match(
    store: Store, fax: FaxPage, extracted: dict[str, str]
) -> tuple[str | None, str | None, list[str]]:
    """(the request to join, the customer to open one for, why an agent should look)."""
    if fax.problem and fax.problem not in PROBLEMS:
        raise invalid("problem", f"problem must be one of {', '.join(PROBLEMS)}")
    reasons = [fax.problem] if fax.problem else []
    reasons += [LOW_CONFIDENCE] if fax.low_confidence and not fax.problem else []
    code = extracted.get("customer_code", "")
    customer = _customer(store, code) if code and not fax.low_confidence else None
    if customer is None:
        reasons.append(NO_CUSTOMER)
        if extracted.get("reference"):
            reasons.append(REFERENCE_NOT_MATCHED)
        return None, None, reasons
    found = find_request(store, extracted.get("reference", ""))
    if found is not None and found.customer_code == customer.code:
        return found.reference, None, reasons
    if extracted.get("reference"):
        reasons.append(REFERENCE_NOT_MATCHED)
    return None, customer.code, reasons


def _usable_number(number: str) -> bool:
    return sum(c.isdigit() for c in number or "") >= 3


def _unknown_sender(store: Store, actor: str) -> str:
    if store.get(Customer, ids.customer_id(UNKNOWN_SENDER)) is None:
        with contextlib.suppress(IntegrityError):  # another worker made it first
            store.save(Customer(code=UNKNOWN_SENDER, name="Unknown fax sender", kind="person",
                                classification="provisional", actor=actor, provisional=True))
    return UNKNOWN_SENDER


def _by_number(store: Store, pending: Pending, holder: Customer, number: str, actor: str
               ) -> Customer | None:
    """Where a fax held by a provisional customer (P-FAX-UNKNOWN, or the one of a
    misread number) belongs once an agent gives its sender's number and no
    customer: whoever has that number, else a new provisional customer of its
    own, which claims the number, so the next fax from it finds them.  None:
    it stays where it is (a real customer's, or the number is the holder's)."""
    if not holder.provisional or not _usable_number(number):
        return None
    try:
        kind, value = checked_identity("fax", number)
    except InvalidInput:
        return None
    if holder.has_identity(kind, value):
        return None
    found = customer_by_identity(store, kind, value)
    if found is not None:
        return _customer(store, found.code)
    return provisional_customer(store, pending, kind, value, "", actor)


def _customer(store: Store, code: str) -> Customer | None:
    customer = store.get(Customer, ids.customer_id(code))
    if customer is None or customer.erased:
        return None
    if customer.merged_into:
        return _customer(store, customer.merged_into)
    return customer


def _checked_fields(fields: dict[str, str], keep_empty: bool = False) -> dict[str, str]:
    """Known fields of bounded text, stripped; an empty one is left out, or with
    `keep_empty` kept as "" (a correction that clears the field)."""
    unknown = sorted(set(fields) - set(FAX_FIELDS))
    if unknown:
        raise invalid(unknown[0], f"a fax has no field {unknown[0]}")
    for name, value in fields.items():
        if not isinstance(value, str) or len(value) > FIELD_LIMIT:
            raise invalid(name, f"{name} must be text of at most {FIELD_LIMIT} characters")
    return {name: value.strip() for name, value in fields.items()
            if value.strip() or keep_empty}


@handlers(CorrectFax)
def correct_fax(store: Store, c: CorrectFax) -> str:
    """The reference the fax is on once the command is done.  A field left out of
    the corrections stays as it is; one given as "" is cleared (a misread value
    removed), in the same `FaxCorrected` event as the others."""
    corrections = _checked_fields(dict(c.corrections), keep_empty=True)

    def attempt() -> str:
        request = load_request(store, c.reference)
        if c.expected_version is not None and request.version != c.expected_version:
            raise ConcurrentChange(f"{c.reference} changed since you loaded it; reload and "
                                   "try again")
        fax = request.fax(c.external_id)
        if fax["verified"] and c.confirm:
            raise InvalidTransition(f"this fax on {c.reference} is already verified")
        changed = {k: v for k, v in corrections.items() if fax["fields"].get(k, "") != v}
        if changed:
            request.correct_fax(external_id=c.external_id, corrections=changed, actor=c.actor)
        pending = Pending([request])
        target = request.reference
        if c.confirm:
            target = _file(store, pending, request, c.external_id, c.actor)
        if changed or c.confirm:
            store.save(pending)
        return target

    return store.retrying(attempt)


def _file(store: Store, pending: Pending, request: ServiceRequest, external_id: str,
          actor: str) -> str:
    """Verify the fax where its corrected fields place it; the reference it is on."""
    fields = request.fax(external_id)["fields"]
    code = fields.get("customer_code") or request.customer_code
    customer = _customer(store, code)
    if customer is None:
        raise invalid("customer_code", f"no customer {code!r}")
    if not fields.get("customer_code") and not fields.get("reference"):
        customer = _by_number(store, pending, customer, fields.get("sender_number", ""),
                              actor) or customer
    target: ServiceRequest | None = None
    wanted = fields.get("reference")
    if wanted and wanted != request.reference:
        target = find_request(store, wanted)
        if target is None:
            raise NotFound(f"no service request {wanted!r}")
        if target.customer_code != customer.code:
            raise invalid("reference", f"{wanted} is not a request of {customer.code}")
    elif customer.code != request.customer_code:
        target = new_request(store, pending, customer, "support", "fax",
                             request.subject, "", actor)
    if target is None:
        request.verify_fax(external_id=external_id, moved_to=None, actor=actor)
        return request.reference
    _copy_fax(store, request, target, external_id, actor)
    request.verify_fax(external_id=external_id, moved_to=target.reference, actor=actor)
    if request.faxes[external_id]["opened_request"] and request.status != "closed":
        request.close(actor=actor)
    pending.add(target)
    return target.reference


def _copy_fax(store: Store, source: ServiceRequest, target: ServiceRequest, external_id: str,
              actor: str) -> None:
    original = next((e for e in store.events(source.id)
                     if isinstance(e, ServiceRequest.FaxReceived)
                     and e.external_id == external_id), None)
    if original is None:
        raise NotFound(f"{source.reference} has no fax {external_id}")
    if target.is_open is False:
        target.reopen(reason="a fax was filed here", actor=actor)
    target.receive_fax(
        external_id=external_id, sender_number=original.sender_number, image=original.image,
        ocr_text=original.ocr_text, confidence=original.confidence, pages=original.pages,
        occurred_at=original.occurred_at, actor=actor, page_texts=list(original.page_texts),
        page_confidences=list(original.page_confidences), previews=list(original.previews),
        extracted=dict(source.faxes[external_id]["fields"]), filed_from=source.reference,
    )

