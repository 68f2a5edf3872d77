"""OCR of fax pages with Tesseract, after the preprocessing fax images need.

Faxes are not scans: a standard-resolution page has pixels twice as tall as
wide (204×98 dpi), the line noise of the phone line leaves specks, and paper
fed by hand arrives a degree or two askew.  Tesseract wants square pixels,
black on white and level lines; so each page is made square-pixelled (within
10 %) at no less than 200 dpi (more only slows Tesseract for fax-sized type),
despeckled (a 3×3 median filter), deskewed (the angle whose rows are the most
contrasted, found on a small copy, coarse then fine), and binarised (Otsu's
threshold).

Throughput (bench/fax_ocr.py): a page is preprocessed, read and its preview
PNG encoded in one worker thread of a pool kept for the process, each thread
with its own Tesseract engine (tesserocr's `PyTessBaseAPI`) loaded once, so no
process is started, no model loaded and no image written to disk per page;
the pixels go to Tesseract as raw bytes.  Pillow and Tesseract release the
GIL while they work, so the threads share the cores.  Each engine is told to
use one thread: the pool supplies the parallelism.
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # read when Tesseract's library loads

import tesserocr
from PIL import Image, ImageFilter, ImageStat

from channels.fax_ocr.pages import Page

TARGET_DPI = 200  # a fax is at most 204 dpi; more pixels only slow Tesseract down
# Pixels this close to square are left as they are: a fine fax (204×196 dpi) is
# 4 % taller than wide, which Tesseract reads as well, and resampling it would
# cost a fifth of the page's preprocessing and its clean black and white.
ASPECT_TOLERANCE = 0.1
SKEW_LIMIT = 4.0  # degrees either way: more is a page fed sideways, not a skew
SKEW_STEP = 0.25
SKEW_COARSE = 1.0  # the first pass's step; the second looks round its best at SKEW_STEP
# Where Debian's tesseract-ocr-* packages put the language data (TESSDATA_PREFIX wins).
TESSDATA_DIRS = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                 "/usr/share/tessdata")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


class OcrUnavailable(RuntimeError):
    """Tesseract's language data cannot be found or loaded."""


@dataclass(frozen=True)
class PageText:
    text: str
    confidence: float  # Tesseract's mean word confidence, 0 to 100
    preview: bytes  # the page as Tesseract saw it, as a 1-bit PNG (the console shows it)


@dataclass(frozen=True)
class Prepared:
    image: Image.Image  # mode L, black (0) on white (255)
    dpi: int


def preprocess(page: Page) -> Prepared:
    bilevel = page.image.mode == "1"  # black and white as sent, until resampled
    image = page.image if page.image.mode == "L" else page.image.convert("L")
    x_dpi, y_dpi = page.dpi
    scale_x = max(1.0, TARGET_DPI / x_dpi) if x_dpi < TARGET_DPI * 0.8 else 1.0
    # Square pixels first: the vertical resolution is raised to the horizontal one.
    scale_y = scale_x * (x_dpi / y_dpi)
    if abs(scale_x - 1) > ASPECT_TOLERANCE or abs(scale_y - 1) > ASPECT_TOLERANCE:
        image = image.resize((round(image.width * scale_x), round(image.height * scale_y)),
                             Image.Resampling.BICUBIC)
        bilevel = False
    image = despeckle(image, bilevel)
    angle = skew_angle(image)
    if abs(angle) >= SKEW_STEP:
        # Nearest neighbour: for a turn of a few degrees it only shifts runs of pixels
        # by one, keeping strokes as sharp as sent; bicubic (twenty times the cost)
        # softens them before the threshold, and read worse on the test faxes
        # (bench.fax_samples: similarity 0.93 against 0.99 on fine pages).
        image = image.rotate(angle, resample=Image.Resampling.NEAREST, expand=True,
                             fillcolor=255)
    return Prepared(binarise(image), round(x_dpi * scale_x))


def despeckle(image: Image.Image, bilevel: bool) -> Image.Image:
    """A 3×3 median filter.  On a black-and-white page the median of nine pixels is
    their majority, which a box blur thresholded half-way finds at a quarter of the
    cost (Pillow's box blur is separable) with the very same pixels."""
    if not bilevel:
        return image.filter(ImageFilter.MedianFilter(3))
    return image.filter(ImageFilter.BoxBlur(1)).point(_MAJORITY)


_MAJORITY = [255 if v > 127 else 0 for v in range(256)]  # five of nine white: white


def skew_angle(image: Image.Image) -> float:
    """The rotation that makes text lines level: rows of a level page alternate
    between ink and paper, so their means vary the most.  Whole degrees first,
    then quarter degrees round the best of them."""
    small = image.copy()
    small.thumbnail((800, 800))
    small = small.point(lambda v: 255 if v > 160 else 0)
    scores: dict[float, float] = {}

    def score(angle: float) -> float:
        if angle not in scores:
            turned = small.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=255)
            rows = turned.resize((1, turned.height), Image.Resampling.BOX)
            scores[angle] = ImageStat.Stat(rows).var[0]
        return scores[angle]

    def best_of(angles: list[float]) -> float:
        """The best, the smallest turn among equals (a blank page is not turned)."""
        best, best_score = 0.0, -1.0
        for angle in sorted(angles, key=abs):
            if score(angle) > best_score + 1e-9:
                best, best_score = angle, score(angle)
        return best

    coarse = int(SKEW_LIMIT / SKEW_COARSE)
    centre = best_of([i * SKEW_COARSE for i in range(-coarse, coarse + 1)])
    fine = int(SKEW_COARSE / SKEW_STEP)
    return best_of(list({max(-SKEW_LIMIT, min(SKEW_LIMIT, centre + i * SKEW_STEP))
                         for i in range(-fine + 1, fine)}))


def binarise(image: Image.Image) -> Image.Image:
    """Black and white, kept in mode L (0 and 255): the bytes Tesseract takes as they are."""
    threshold = otsu(image.histogram()[:256])
    return image.point([255 if v > threshold else 0 for v in range(256)])


def otsu(histogram: Sequence[int]) -> int:
    total = sum(histogram)
    weighted = sum(i * h for i, h in enumerate(histogram))
    below = below_sum = 0
    best, best_var = 127, -1.0
    for level, count in enumerate(histogram):
        below += count
        if below == 0:
            continue
        above = total - below
        if above == 0:
            break
        below_sum += level * count
        mean_below = below_sum / below
        mean_above = (weighted - below_sum) / above
        between = below * above * (mean_below - mean_above) ** 2
        if between > best_var:
            best, best_var = level, between
    return best


def tessdata_dir() -> str:
    prefix = os.environ.get("TESSDATA_PREFIX")
    if prefix:
        return prefix
    return next((d for d in TESSDATA_DIRS if Path(d).is_dir()), TESSDATA_DIRS[0])


_engines = threading.local()


def engine(langs: str) -> tesserocr.PyTessBaseAPI:
    """This thread's Tesseract for `langs`, loaded on its first page."""
    engines: dict[str, tesserocr.PyTessBaseAPI] = _engines.__dict__.setdefault("by_langs", {})
    if langs not in engines:
        try:
            engines[langs] = tesserocr.PyTessBaseAPI(path=tessdata_dir(), lang=langs,
                                                     psm=tesserocr.PSM.AUTO)
        except RuntimeError as error:
            raise OcrUnavailable(f"Tesseract cannot load {langs!r} from {tessdata_dir()}: "
                                 f"{error}") from None
    return engines[langs]


def recognise(page: Prepared, langs: str) -> tuple[str, float]:
    """Text with its line breaks, and the mean confidence of its words."""
    api = engine(langs)
    image = page.image
    api.SetImageBytes(image.tobytes(), image.width, image.height, 1, image.width)
    api.SetSourceResolution(page.dpi)
    api.Recognize()
    lines: dict[tuple[str, str, str], list[str]] = {}
    confidences: list[float] = []
    # Tesseract's TSV (as `tesseract ... tsv` writes it): level, page, block, paragraph,
    # line, word, left, top, width, height, confidence, text.
    for row in (api.GetTSVText(0) or "").splitlines():
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5":
            continue
        word = cells[11].strip()
        conf = float(cells[10])
        if not word or conf < 0:
            continue
        confidences.append(conf)
        lines.setdefault((cells[2], cells[3], cells[4]), []).append(word)
    api.Clear()
    text = "\n".join(join_words(words) for words in lines.values())
    return text, (sum(confidences) / len(confidences) if confidences else 0.0)


def join_words(words: list[str]) -> str:
    """Chinese is written without spaces; Tesseract reports each character a word."""
    out = ""
    for word in words:
        if out and not (_CJK.match(out[-1]) and _CJK.match(word[0])):
            out += " "
        out += word
    return out


def ocr_page(page: Page, langs: str) -> PageText:
    prepared = preprocess(page)
    text, confidence = recognise(prepared, langs)
    return PageText(text, confidence, png(prepared.image))


def png(image: Image.Image) -> bytes:
    """A 1-bit PNG: smaller than a grey one and quick to encode (no optimize=True:
    that costs a third of a page's OCR time)."""
    out = io.BytesIO()
    image.convert("1", dither=Image.Dither.NONE).save(out, format="PNG")
    return out.getvalue()


class Recogniser:
    """OCR of many pages at once, across the machine's cores: a pool of worker
    threads kept as long as the recogniser, each with its own engine."""

    def __init__(self, langs: str, workers: int | None = None) -> None:
        self.langs = langs
        self.workers = workers or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ocr")

    def pages(self, pages: Sequence[Page]) -> list[PageText]:
        return list(self._pool.map(lambda page: ocr_page(page, self.langs), pages))
