"""Fax-like images for the tests and the benchmark, drawn with Pillow.

A form in Chinese and English in WenQuanYi Zen Hei (Debian's fonts-wqy-zenhei),
rendered at fine resolution and, for standard, squashed to half the lines, as
a fax machine sends it; specks of line noise and a slight skew; saved as a
G4-compressed multi-page TIFF with the fax's own dpi, or as a PDF.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
FINE = (204, 196)
STANDARD = (204, 98)
WIDTH = 1728  # the pixels of an A4 fax line


@dataclass(frozen=True)
class FormFields:
    reference: str = "SR-000123"
    customer_code: str = "HUAXIN"
    phone: str = "010-6588-1234"
    serial: str = "HX-4471-A"
    sender: str = "+86-10-6588-0000"


def form_lines(f: FormFields, page: int = 1) -> list[str]:
    if page > 1:
        return ["第二页 补充说明 Page 2", "打印机在高温下频繁卡纸，请尽快安排工程师上门。",
                "The printer jams often when the room is hot.", "谢谢！ Thank you."]
    lines = [
        f"FAX FROM: {f.sender}   2026-03-02 09:15   P.1",
        "售后服务申请单 Service Request Form",
    ]
    if f.reference:
        lines.append(f"服务单号 Reference: {f.reference}")
    if f.customer_code:
        lines.append(f"客户编号 Customer code: {f.customer_code}")
    lines += [
        f"回电电话 Callback phone: {f.phone}",
        f"序列号 Serial: {f.serial}",
        "故障描述：打印机卡纸，显示错误代码E05。",
        "Fault: the printer jams and shows error E05.",
    ]
    return lines


def draw_page(lines: list[str], resolution: tuple[int, int], skew: float = 0.8,
              noise: float = 0.0015, seed: int = 7) -> Image.Image:
    rng = random.Random(seed)
    height = int(WIDTH * 297 / 210)
    page = Image.new("L", (WIDTH, height), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, 40)
    y = 120
    for line in lines:
        draw.text((110, y), line, font=font, fill=0)
        y += 78
    page = page.rotate(skew, resample=Image.Resampling.BICUBIC, fillcolor=255)
    pixels = page.load()
    assert pixels is not None
    for _ in range(int(WIDTH * height * noise)):
        pixels[rng.randrange(WIDTH), rng.randrange(height)] = 0
    if resolution[1] < resolution[0] * 0.75:  # standard: every other line
        page = page.resize((WIDTH, height * resolution[1] // resolution[0]),
                           Image.Resampling.BOX)
    else:
        page = page.resize((WIDTH, height * resolution[1] // resolution[0]),
                           Image.Resampling.BICUBIC)
    return page.point(lambda v: 255 if v > 140 else 0).convert("1")


def fax_pages(fields: FormFields, resolution: tuple[int, int], pages: int = 2,
              seed: int = 7) -> list[Image.Image]:
    return [draw_page(form_lines(fields, n + 1), resolution, seed=seed + n)
            for n in range(pages)]


def tiff_g4(images: list[Image.Image], resolution: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    images[0].save(out, format="TIFF", compression="group4", save_all=True,
                   append_images=images[1:], dpi=resolution)
    return out.getvalue()


def pdf(images: list[Image.Image], resolution: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    squared = [im.resize((im.width, im.height * resolution[0] // resolution[1]))
               for im in images]
    squared[0].save(out, format="PDF", save_all=True, append_images=squared[1:],
                    resolution=float(resolution[0]))
    return out.getvalue()
