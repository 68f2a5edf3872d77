"""A fax file's pages as images: multi-page TIFF (CCITT G3/G4 included), PDF, PNG, JPEG.

Every way a file can be bad ends in `UnreadableFax` with a reason a person can
act on (empty, truncated, encrypted, not a fax format), so the intake keeps the
file in `failed/` with that reason and goes on.  Each page keeps its scanning
resolution: a standard fax is 204×98 dpi, and its pixels are twice as tall as
wide until preprocessing makes them square.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image, ImageSequence, UnidentifiedImageError

# A page rendered from a PDF: Tesseract reads best at about 300 dpi.
PDF_DPI = 300
MAX_PAGES = 100
# Decompression bombs: a fax page is at most about A3 at 400 dpi.
MAX_PIXELS = 40_000_000

TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
PDF_MAGIC = b"%PDF-"


class UnreadableFax(ValueError):
    """The file cannot be read as a fax; the message says why."""


@dataclass(frozen=True)
class Page:
    image: Image.Image
    dpi: tuple[float, float]  # (horizontal, vertical)


def kind_of(data: bytes) -> str:
    if not data:
        raise UnreadableFax("the file is empty")
    if data.startswith(TIFF_MAGIC):
        return "tiff"
    if data.startswith(PDF_MAGIC):
        return "pdf"
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    raise UnreadableFax("not a fax image (TIFF, PDF, PNG or JPEG)")


def load_pages(data: bytes) -> list[Page]:
    kind = kind_of(data)
    try:
        pages = _pdf_pages(data) if kind == "pdf" else _image_pages(data)
    except UnreadableFax:
        raise
    except UnidentifiedImageError:
        raise UnreadableFax(f"the {kind.upper()} file is damaged or truncated") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            pdfium.PdfiumError) as error:
        raise UnreadableFax(f"the {kind.upper()} file is damaged or truncated ({error})") from None
    if not pages:
        raise UnreadableFax(f"the {kind.upper()} file has no pages")
    return pages


def _image_pages(data: bytes) -> list[Page]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damaged tags are reported by failing, or not at all
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        pages: list[Page] = []
        for frame in ImageSequence.Iterator(image):
            if len(pages) >= MAX_PAGES:
                raise UnreadableFax(f"more than {MAX_PAGES} pages")
            if frame.width * frame.height > MAX_PIXELS:
                raise UnreadableFax("a page is larger than any fax")
            dpi = _dpi(frame)
            frame.load()  # decode now: a truncated strip fails here, not during OCR
            pages.append(Page(frame.copy(), dpi))
    return pages


def _dpi(frame: Image.Image) -> tuple[float, float]:
    raw = frame.info.get("dpi")
    if isinstance(raw, tuple) and len(raw) == 2 and raw[0] and raw[1]:
        return float(raw[0]), float(raw[1])
    return 200.0, 200.0  # what fine mode and most scanners use


def _pdf_pages(data: bytes) -> list[Page]:
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise UnreadableFax("the PDF is encrypted (password protected)") from None
        raise
    try:
        if len(document) > MAX_PAGES:
            raise UnreadableFax(f"more than {MAX_PAGES} pages")
        pages = []
        for index in range(len(document)):
            page = document[index]
            width, height = page.get_size()  # points
            if width * height * (PDF_DPI / 72) ** 2 > MAX_PIXELS:
                raise UnreadableFax("a page is larger than any fax")
            bitmap = page.render(scale=PDF_DPI / 72, grayscale=True)
            pages.append(Page(bitmap.to_pil().convert("L"), (PDF_DPI, PDF_DPI)))
        return pages
    finally:
        document.close()
