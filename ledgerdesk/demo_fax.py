"""Demo data for the fax channel: one fax the OCR could not place, waiting in
"Fax to verify" beside its page image, from a number nobody is known by (so its
provisional customer has no email address and the request is flagged "Call
back").  The page is drawn here and its text given outright: the demo does not
run Tesseract, so it stays fast."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.requests.commands import FaxPage, RecordFax

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # Debian's fonts-wqy-zenhei
SENDER = "0755-8888-2222"
LINES = [
    f"FAX FROM: {SENDER}   P.1",
    "售后服务申请单 Service Request Form",
    "服务单号 Reference: SR-0OO1O7",
    "客户编号 Customer code: HUAX1N",
    "回电电话 Callback phone: 0755-8888-2299",
    "故障描述：冷水机压缩机异响，请派工程师。",
    "Fault: the chiller's compressor is noisy.",
]


def load(app: Ledgerdesk, blobs: BlobStore) -> str:
    """Records the demo fax; returns its request's reference."""
    page = Image.new("L", (1240, 1650), 255)  # an A4 page, the form at its top
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT), 34) if FONT.exists() else ImageFont.load_default()
    for n, line in enumerate(LINES):
        draw.text((70, 60 + n * 100), line, font=font, fill=0)
    bilevel = page.point([255 if v > 140 else 0 for v in range(256)]).convert("1")
    tiff, png = io.BytesIO(), io.BytesIO()
    bilevel.save(tiff, format="TIFF", compression="group4", dpi=(204, 196))
    bilevel.save(png, format="PNG")
    text = "\n".join(LINES)
    # As OCR might read it: 0 and O, 1 and l confused, so nothing matches for sure.
    fields = {"reference": "SR-0OO1O7", "customer_code": "HUAX1N", "phone": "0755-8888-2299",
              "sender_number": SENDER}
    return app.handle(RecordFax(FaxPage(
        external_id=hashlib.sha256(tiff.getvalue()).hexdigest(), sender_number=SENDER,
        image=blobs.put(tiff.getvalue(), "fax-0001.tif", "image/tiff"), ocr_text=text,
        confidence=72.4, pages=1, extracted=fields, page_texts=(text,),
        page_confidences=(72.4,), previews=(blobs.put(png.getvalue(), "page-1.png",
                                                      "image/png"),),
    ))).reference
