"""Plain text: one page after another, separated by a form feed (as pdftotext does)."""

from __future__ import annotations

from pipeline.layout import page_text
from pipeline.models import DocumentResult


def render_txt(doc: DocumentResult) -> bytes:
    return "\f".join(page_text(p.result.blocks) for p in doc.pages).encode("utf-8") + b"\n"
