"""OCR of fax pages with Tesseract, after the preprocessing fax images need.

Faxes are not scans: a standard-resolution page has pixels twice as tall as
wide (204×98 dpi), the line noise of the phone line leaves specks, and paper
fed by hand arrives a degree or two askew.  Tesseract wants square pixels,
black on white and level lines; so each page is made square-pixelled at no
less than 200 dpi (more only slows Tesseract for fax-sized type),
despeckled (a median filter), deskewed (the angle whose rows are the most
contrasted, found on a small copy), and binarised (Otsu's threshold).  Pages
go to Tesseract in parallel, one process per core (pytesseract runs the
`tesseract` binary; each call is told to use one thread, so the cores are
shared by pages rather than oversubscribed).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytesseract
from PIL import Image, ImageFilter, ImageStat

from channels.fax_ocr.pages import Page

TARGET_DPI = 200  # a fax is at most 204 dpi; more pixels only slow Tesseract down
SKEW_LIMIT = 4.0  # degrees either way: more is a page fed sideways, not a skew
SKEW_STEP = 0.25
# Tesseract is told to use one thread: the pool supplies the parallelism.
TESSERACT_ENV = {"OMP_THREAD_LIMIT": "1"}
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@dataclass(frozen=True)
class PageText:
    text: str
    confidence: float  # Tesseract's mean word confidence, 0 to 100
    image: Image.Image  # the page as Tesseract saw it (for the console's preview)


def preprocess(page: Page) -> Image.Image:
    image = page.image.convert("L")
    x_dpi, y_dpi = page.dpi
    scale_x = max(1.0, TARGET_DPI / x_dpi) if x_dpi < TARGET_DPI * 0.8 else 1.0
    # Square pixels first: the vertical resolution is raised to the horizontal one.
    scale_y = scale_x * (x_dpi / y_dpi)
    if abs(scale_x - 1) > 0.01 or abs(scale_y - 1) > 0.01:
        image = image.resize((round(image.width * scale_x), round(image.height * scale_y)),
                             Image.Resampling.BICUBIC)
    image = image.filter(ImageFilter.MedianFilter(3))
    angle = skew_angle(image)
    if abs(angle) >= SKEW_STEP:
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True,
                             fillcolor=255)
    return binarise(image)


def skew_angle(image: Image.Image) -> float:
    """The rotation that makes text lines level: rows of a level page alternate
    between ink and paper, so their means vary the most."""
    small = image.copy()
    small.thumbnail((800, 800))
    small = small.point(lambda v: 255 if v > 160 else 0)
    best, best_score = 0.0, -1.0
    steps = int(SKEW_LIMIT / SKEW_STEP)
    for i in range(-steps, steps + 1):
        angle = i * SKEW_STEP
        turned = small.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=255)
        rows = turned.resize((1, turned.height), Image.Resampling.BOX)
        score = ImageStat.Stat(rows).var[0]
        if score > best_score + 1e-9:
            best, best_score = angle, score
    return best


def binarise(image: Image.Image) -> Image.Image:
    threshold = otsu(image.histogram()[:256])
    return image.point(lambda v: 255 if v > threshold else 0).convert("1")


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


def recognise(image: Image.Image, langs: str) -> tuple[str, float]:
    """Text with its line breaks, and the mean confidence of its words."""
    data = pytesseract.image_to_data(image, lang=langs, config="--psm 3",
                                     output_type=pytesseract.Output.DICT)
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences: list[float] = []
    for i, word in enumerate(data["text"]):
        word = word.strip()
        conf = float(data["conf"][i])
        if not word or conf < 0:
            continue
        confidences.append(conf)
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append(word)
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
    image = preprocess(page)
    text, confidence = recognise(image, langs)
    return PageText(text, confidence, image)


class Recogniser:
    """OCR of many pages at once, across the machine's cores."""

    def __init__(self, langs: str, workers: int | None = None) -> None:
        self.langs = langs
        self.workers = workers or os.cpu_count() or 1
        os.environ.update(TESSERACT_ENV)  # inherited by each tesseract process

    def pages(self, pages: Sequence[Page]) -> list[PageText]:
        if len(pages) == 1 or self.workers == 1:
            return [ocr_page(page, self.langs) for page in pages]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(pages))) as pool:
            return list(pool.map(lambda page: ocr_page(page, self.langs), pages))
