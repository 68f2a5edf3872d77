"""A console report as a CSV download (reports, settlement): cells a spreadsheet
would read as a formula are made text, the file is named for its period."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from starlette.responses import Response


def inert(cell: str, formula_starts: tuple[str, ...]) -> str:
    """A cell a spreadsheet would read as a formula, as text."""
    return "'" + cell if cell[:1] in formula_starts else cell


def csv_download(rows: Iterable[Sequence[str]], filename: str, *,
                 formula_starts: tuple[str, ...], bom: bool = False) -> Response:
    """`bom`: a byte-order mark first, so a spreadsheet opens Chinese text as UTF-8."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(
        [[inert(cell, formula_starts) for cell in row] for row in rows])
    return Response(("\ufeff" if bom else "") + out.getvalue(),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
