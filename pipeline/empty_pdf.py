"""Telling a PDF with no pages from an encrypted or damaged one.

PDFium refuses to open some page-less PDFs, with an error that reads like a password
or format problem; qpdf (through pikepdf) opens them and counts zero pages, so the user
hears what is really wrong.
"""

from __future__ import annotations

import pikepdf


def has_no_pages(path: str) -> bool:
    """True when the file opens as an unencrypted PDF (no password) with zero pages."""
    try:
        with pikepdf.open(path) as pdf:
            return not pdf.is_encrypted and len(pdf.pages) == 0
    except Exception:  # encrypted, damaged, not a PDF: not ours to say
        return False
