"""Fax OCR throughput: pages per minute through the fax intake (load, preprocess,
Tesseract, extraction, blob store, recording on SQLite), for standard and
fine G4 faxes, against bare `tesseract` on the same pages (the raw page
images written as PNG) run on all cores in the same run; and the share of the
intake's time spent in Tesseract versus the rest.

    .venv/bin/python bench/fax_ocr.py [--faxes 4] [--pages 2] [--rounds 3]

The goal (issue 14) is at least 0.9x the bare rate.  On a machine other work
shares, the two are timed in turns, `--rounds` times each on fresh faxes, and
the best round of each is compared (the round least disturbed by the others);
the CPU seconds a page (this process's threads and any child processes; the
tesseract processes) are printed too, as they depend less on what else the
machine runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fax_samples import FINE, STANDARD, FormFields, fax_pages, tiff_g4
from channels.fax_ocr import ocr
from channels.fax_ocr.intake import FaxIntake
from domain.application import Ledgerdesk
from domain.blobstore import BlobStore
from domain.customers.commands import RegisterCustomer
from ledgerdesk.config import Database
from ledgerdesk.persistence import event_store_env

LANGS = "chi_sim+eng"


def bare(paths: list[Path]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) for `tesseract FILE - -l LANGS` over every page,
    one per core."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def run(path: Path) -> None:
        subprocess.run(["tesseract", str(path), "-", "-l", LANGS], env=env, check=True,
                       capture_output=True)

    cpu = _children_cpu()
    started = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(run, paths))
    return time.perf_counter() - started, _children_cpu() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faxes", type=int, default=4)
    parser.add_argument("--pages", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # Time spent inside Tesseract, summed over the pool's threads.
    in_ocr = [0.0]
    real_recognise = ocr.recognise

    def timed(page: ocr.Prepared, langs: str) -> tuple[str, float]:
        started = time.perf_counter()
        try:
            return real_recognise(page, langs)
        finally:
            in_ocr[0] += time.perf_counter() - started

    ocr.recognise = timed  # type: ignore[assignment]
    print(f"{os.cpu_count()} cores; {args.faxes} faxes of {args.pages} pages each, "
          f"best of {args.rounds} rounds")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app = Ledgerdesk(env=event_store_env(Database(kind="sqlite", path=root / "e.db")))
        app.handle(RegisterCustomer("HUAXIN", "华信", actor="bench"))
        intake = FaxIntake(app, BlobStore(root / "blobs", 50 * 1024 * 1024), LANGS)
        for name, resolution in (("standard", STANDARD), ("fine", FINE)):
            best_bare = best_ours = cpu_bare = cpu_ours = float("inf")
            share = 0.0
            for round_ in range(args.rounds):
                faxes, pngs = sample(root, name, resolution, args, round_)
                wall, cpu = bare(pngs)
                best_bare, cpu_bare = min(best_bare, wall), min(cpu_bare, cpu)
                in_ocr[0] = 0.0
                cpu = time.process_time() + _children_cpu()  # (pytesseract's processes)
                started = time.perf_counter()
                # One fax after another, as the folder takes them; pages in parallel.
                for n, data in enumerate(faxes):
                    intake.record(data, f"{name}-{round_}-{n}.tif")
                ours = time.perf_counter() - started
                cpu_ours = min(cpu_ours, time.process_time() + _children_cpu() - cpu)
                if ours < best_ours:
                    best_ours = ours
                    workers = min(os.cpu_count() or 1, args.pages)
                    share = in_ocr[0] / workers / ours
            pages = args.faxes * args.pages
            print(f"{name:8}: intake {pages / best_ours * 60:6.1f} pages/min, bare tesseract "
                  f"{pages / best_bare * 60:6.1f} pages/min on all cores "
                  f"({best_bare / best_ours:.2f}x); "
                  f"{share:.0%} of the intake's time in Tesseract, {1 - share:.0%} in the rest; "
                  f"CPU a page: intake {cpu_ours / pages:.2f} s, bare {cpu_bare / pages:.2f} s "
                  f"({cpu_bare / cpu_ours:.2f}x)")
        app.close()


def sample(root: Path, name: str, resolution: tuple[int, int], args: argparse.Namespace,
           round_: int) -> tuple[list[bytes], list[Path]]:
    """A round's faxes (as G4 TIFF) and their pages as bare tesseract gets them."""
    faxes, pngs = [], []
    for n in range(args.faxes):
        images = fax_pages(FormFields(phone=f"010-6588-{1000 + round_ * 100 + n}"), resolution,
                           pages=args.pages, seed=n)
        faxes.append(tiff_g4(images, resolution))
        for p, image in enumerate(images):
            path = root / f"{name}-{round_}-{n}-{p}.png"
            # What bare tesseract gets: the page as sent, square pixels or not.
            image.save(path, dpi=resolution)
            pngs.append(path)
    return faxes, pngs

if __name__ == "__main__":
    main()
