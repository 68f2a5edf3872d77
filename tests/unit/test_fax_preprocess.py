"""The fax pages' preprocessing (channels.fax_ocr.ocr), without Tesseract: the cheap
despeckling of black-and-white pages gives the very pixels of a 3×3 median, the
coarse-then-fine skew search finds the page's turn, and only pixels far from square
are resampled."""

from __future__ import annotations

import random

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from channels.fax_ocr.ocr import SKEW_STEP, despeckle, preprocess, skew_angle
from channels.fax_ocr.pages import Page


def specks(size: tuple[int, int] = (400, 300), seed: int = 3) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle((x, y, x + rng.randrange(1, 30), y + rng.randrange(1, 6)), fill=0)
    pixels = image.load()
    assert pixels is not None
    for _ in range(2000):  # line noise: single pixels either way
        pixels[rng.randrange(size[0]), rng.randrange(size[1])] = rng.choice((0, 255))
    return image


def test_despeckling_a_black_and_white_page_is_the_median_exactly() -> None:
    image = specks()
    assert ImageChops.difference(despeckle(image, bilevel=True),
                                 image.filter(ImageFilter.MedianFilter(3))).getbbox() is None
    grey = image.filter(ImageFilter.GaussianBlur(1))
    assert ImageChops.difference(despeckle(grey, bilevel=False),
                                 grey.filter(ImageFilter.MedianFilter(3))).getbbox() is None


def lines_page(angle: float) -> Image.Image:
    page = Image.new("L", (1200, 1600), 255)
    draw = ImageDraw.Draw(page)
    for y in range(150, 1450, 60):
        draw.rectangle((120, y, 1080, y + 14), fill=0)
    return page.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=255)


@pytest.mark.parametrize("angle", [-3.0, -1.25, 0.0, 0.75, 2.5])
def test_the_skew_search_finds_the_turn_that_levels_the_lines(angle: float) -> None:
    assert abs(skew_angle(lines_page(angle)) + angle) <= SKEW_STEP


def test_standard_faxes_get_square_pixels_and_fine_ones_are_left_as_sent() -> None:
    standard = Image.new("1", (1728, 1143), 1)
    fine = Image.new("1", (1728, 2286), 1)
    assert preprocess(Page(standard, (204.0, 98.0))).image.size == (1728, 2379)
    prepared = preprocess(Page(fine, (204.0, 196.0)))
    assert prepared.image.size == (1728, 2286) and prepared.dpi == 204
    assert prepared.image.mode == "L" and set(prepared.image.getcolors() or []) <= {
        (1728 * 2286, 255)}
