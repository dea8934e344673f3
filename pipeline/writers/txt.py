"""Plain text: one page after another, separated by a form feed (as pdftotext does)."""

from __future__ import annotations

from typing import BinaryIO

from pipeline.layout import page_text
from pipeline.models import DocumentResult


def write_txt(doc: DocumentResult, out: BinaryIO) -> None:
    for number, page in enumerate(doc.pages):
        if number:
            out.write(b"\f")
        out.write(page_text(page.result.blocks).encode("utf-8"))
    out.write(b"\n")
