"""Plain text: one page after another, separated by a form feed (as pdftotext does)."""

from __future__ import annotations

from typing import BinaryIO

from pipeline.layout import lines_text
from pipeline.models import DocumentResult
from pipeline.upright import reading_lines


def write_txt(doc: DocumentResult, out: BinaryIO) -> None:
    for number, page in enumerate(doc.pages):
        if number:
            out.write(b"\f")
        out.write(lines_text(reading_lines(page.result)).encode("utf-8"))
    out.write(b"\n")
