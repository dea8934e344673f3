"""What a writer may need beyond the OCR result: settings from the job's [output]."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WriteOptions:
    low_confidence: float | None = None
    """Word: highlight blocks recognised with a confidence below this (None: off)."""
    pdf_password: str | None = None
    """Searchable PDF: the password that opens an encrypted original."""
