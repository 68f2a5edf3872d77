"""One fax file in, one RecordFax command out: the path every intake shares
(the CLI, the watched folder, the gateway upload, fax mail).

The file is kept encrypted in the blob store as it arrived, with a 1-bit PNG
of each page as Tesseract saw it (browsers show no TIFF; made by the OCR
worker that read the page, channels.fax_ocr.ocr), and its SHA-256 is its
channel id, so the same file sent twice, or picked up again after a crash, is
recorded once.  A file that cannot be read at all is an `UnreadableFax` for
the caller to report; when it has bytes it is still recorded, with no text,
for an agent to look at in the verification queue, so nothing sent is lost.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from channels.fax_ocr.extract import extract_fields
from channels.fax_ocr.ocr import Recogniser
from channels.fax_ocr.pages import UnreadableFax, kind_of, load_pages
from domain import ids
from domain.aggregates.receipt import InboundReceipt
from domain.aggregates.service_request import Attachment
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.requests.commands import FaxPage, Recorded, RecordFax
from domain.requests.fax import UNREADABLE
from domain.text import clean

# Below this mean word confidence (Tesseract's 0 to 100) nothing read is trusted.
LOW_CONFIDENCE = 60.0
CONTENT_TYPES = {"tiff": "image/tiff", "pdf": "application/pdf", "png": "image/png",
                 "jpeg": "image/jpeg"}
PAGE_BREAK = "\n\n"


@dataclass(frozen=True)
class FaxOutcome:
    recorded: Recorded
    fields: dict[str, str]
    confidence: float | None  # None: recorded before, not read again
    pages: int


class FaxUnreadable(Exception):
    """The file could not be read; `recorded`: where it was kept for an agent, if it was."""

    def __init__(self, reason: str, recorded: Recorded | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.recorded = recorded


class FaxIntake:
    """Blocking: OCR takes seconds a page (across the cores, see channels.fax_ocr.ocr)."""

    def __init__(self, app: Ledgerdesk, blobs: BlobStore, langs: str,
                 workers: int | None = None) -> None:
        self.app = app
        self.blobs = blobs
        self.recogniser = Recogniser(langs, workers)

    def record(self, data: bytes, filename: str, sender_number: str = "",
               received_at: datetime | None = None) -> FaxOutcome:
        external_id = hashlib.sha256(data).hexdigest()
        try:
            kind = kind_of(data)
            pages = load_pages(data)
        except UnreadableFax as error:
            recorded = self._record_unreadable(data, filename, sender_number, external_id,
                                               received_at) if data else None
            raise FaxUnreadable(str(error), recorded) from None
        seen = self._seen(external_id, len(pages))
        if seen is not None:
            return seen
        image = self.blobs.put(data, filename, CONTENT_TYPES[kind])
        texts = self.recogniser.pages(pages)
        previews = tuple(self.blobs.put(t.preview, f"page-{n}.png", "image/png")
                         for n, t in enumerate(texts, 1))
        page_texts = tuple(clean(t.text) for t in texts)
        text = PAGE_BREAK.join(page_texts)
        confidence = (sum(t.confidence for t in texts) / len(texts)) if texts else 0.0
        fields = extract_fields(text, sender_number)
        fax = FaxPage(
            external_id=external_id, sender_number=fields.get("sender_number", ""),
            image=image, ocr_text=text, confidence=round(confidence, 1), pages=len(pages),
            occurred_at=received_at, reference=fields.get("reference"), extracted=fields,
            page_texts=page_texts, page_confidences=tuple(round(t.confidence, 1) for t in texts),
            previews=previews, low_confidence=confidence < LOW_CONFIDENCE or not text.strip(),
        )
        return FaxOutcome(self.app.handle(RecordFax(fax)), fields, confidence, len(pages))

    def _seen(self, external_id: str, pages: int) -> FaxOutcome | None:
        """A file recorded before (sent again, or picked up again after a crash) is
        not read again: its record, with the fields as they now stand.  A race with
        another worker is still settled by the domain, which records it once."""
        receipt = self.app.store.find(InboundReceipt, *ids.receipt_ids("fax", external_id))
        if receipt is None:
            return None
        fax = self.app.service_request(receipt.reference).faxes.get(external_id) or {}
        return FaxOutcome(Recorded(receipt.reference, receipt.customer_code, duplicate=True),
                          dict(fax.get("fields") or {}), None, pages)

    def _record_unreadable(self, data: bytes, filename: str, sender_number: str,
                           external_id: str, received_at: datetime | None) -> Recorded:
        image = self.blobs.put(data, filename, "application/octet-stream")
        return self.keep_unread(image, external_id, sender_number, UNREADABLE, received_at)

    def keep_unread(self, image: Attachment, external_id: str, sender_number: str,
                    problem: str, received_at: datetime | None = None) -> Recorded:
        """Record what arrived, with no text, in the verification queue: `problem`
        (domain.requests.fax.PROBLEMS) says why nothing was read."""
        fields = {"sender_number": sender_number} if sender_number else {}
        return self.app.handle(RecordFax(FaxPage(
            external_id=external_id, sender_number=sender_number, image=image, ocr_text="",
            confidence=0.0, pages=0, occurred_at=received_at, extracted=fields,
            page_texts=(), page_confidences=(), low_confidence=True, problem=problem,
        )))
