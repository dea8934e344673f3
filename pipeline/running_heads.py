"""Running headers and footers: found by position and by repetition across pages.

The layout model labels some headers and footers itself. Across a document of two or
more pages, a short paragraph in the top or bottom `EDGE` of the page whose text (digits
left out, so page numbers match) comes back on at least half of the pages is one too;
so is a lone page number at the top or bottom edge, and, on any page, a short line in the
top edge above the page's own title (a report's masthead: the firm, the kind of report).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from typing import Literal

from pipeline.heading_levels import level_headings
from pipeline.layout_json import stored_layouts
from pipeline.models import DocumentResult
from pipeline.page_layout import PageLayout, Paragraph, page_layout

EDGE = 0.1
"""The top and bottom tenth of a page."""
MAX_CHARS = 100
MASTHEAD_CHARS = 30
"""A masthead line is short (a firm's name, a date); a longer one is the top of a column."""

_DIGITS = re.compile(r"\d+")
_PAGE_NUMBER = re.compile(
    r"^[-\u2013\u2014\s]*(page\s*)?\d{1,4}([-\u2013\s/]+\d{1,4})?[-\u2013\u2014\s]*$", re.I
)


def document_layout(doc: DocumentResult) -> list[PageLayout]:
    """Every page's paragraphs, running headers and footers marked as such, and the
    titles' levels judged over the whole document (`heading_levels`); or as a JSON
    result stored them (`layout_json`), so an export rebuilds what the run wrote."""
    stored = stored_layouts(doc)
    if stored is not None:
        return stored
    pages = [page_layout(page) for page in doc.pages]
    seen: Counter[str] = Counter()
    for page in pages:
        seen.update({_key(p) for p in page.paragraphs if _at_edge(p, page) is not None})
    need = max(2, (len(pages) + 1) // 2)
    marked = []
    for page in pages:
        paragraphs = []
        masthead = _masthead_end(page)
        for paragraph in page.paragraphs:
            edge = _at_edge(paragraph, page)
            repeats = len(pages) >= 2 and seen[_key(paragraph)] >= need
            above_title = (edge == "header" and paragraph.box[3] <= masthead
                           and len(paragraph.text) <= MASTHEAD_CHARS)
            if edge is not None and (
                repeats or above_title or _PAGE_NUMBER.match(paragraph.text)
            ):
                paragraph = replace(paragraph, kind=edge, level=0)
            paragraphs.append(paragraph)
        marked.append(replace(page, paragraphs=tuple(paragraphs)))
    return level_headings(marked, doc.pages)


def _masthead_end(page: PageLayout) -> float:
    """The top of the page's first title below the top edge (nothing above it is the
    page's own text but a masthead), or 0 when there is none."""
    titles = [p.box[1] for p in page.paragraphs
              if p.kind == "title" and p.box[1] >= EDGE * page.height]
    return min(titles, default=0.0)


def _key(paragraph: Paragraph) -> str:
    return _DIGITS.sub("#", " ".join(paragraph.text.lower().split()))


def _at_edge(paragraph: Paragraph, page: PageLayout) -> Literal["header", "footer"] | None:
    if paragraph.kind not in ("text", "title", "header", "footer"):
        return None
    if len(paragraph.text) > MAX_CHARS or len(paragraph.lines) > 2:
        return None
    if paragraph.kind in ("header", "footer"):
        return paragraph.kind
    if paragraph.box[3] <= EDGE * page.height:
        return "header"
    if paragraph.box[1] >= (1 - EDGE) * page.height:
        return "footer"
    return None
