"""What a writer may need beyond the OCR result: settings from the job's [output]."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WriteOptions:
    low_confidence: float | None = None
    """Word: highlight blocks recognised with a confidence below this (None: off)."""
    pdf_password: str | None = None
    """Searchable PDF: the password that opens an encrypted original."""
    txt_lines: bool = True
    """TXT: one line per OCR line (False: each paragraph on one line)."""
    headers: str = "keep"
    """Word/Markdown: running headers and footers "keep" (Word header/footer) or "drop"."""
