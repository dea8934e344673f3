"""Heading levels judged over the whole document, not page by page.

    page_layout.py     a page's paragraphs; titles get a first level from that page alone
    running_heads.py   every page's paragraphs, running headers and footers marked
    heading_levels.py  the titles' levels, the same on every page (this module)

A 30-page report must read as one outline: its chapter title Heading 1 on page 1, its
section titles Heading 2 on every page, and a page whose only title is a section title
still Heading 2 (judged on that page alone it would be the page's largest: Heading 1).
So the levels come from all the document's titles at once. Every title's text height is
put in points (pages of one document may have been rendered or scaled differently), the
heights are grouped into clusters of about one size (within `SAME_SIZE` of the cluster's
largest), and the clusters are ranked from the largest down: the largest is level 1, the
next level 2, any smaller `MAX_LEVEL`. Titles set about the body's own size (bold run-in
headings, within `BODY_SIZE` of the document's body text) rank below every larger title.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from statistics import median

from pipeline.models import PageResult
from pipeline.page_layout import PageLayout

SAME_SIZE = 1.2
"""Titles within this ratio of their cluster's largest are one size (OCR line boxes of
one type size vary with ascenders and descenders by up to about this much)."""
BODY_SIZE = 1.15
"""A title at most this many times the body text's height is set in the body's size."""
MAX_LEVEL = 3
A4_SHORT_SIDE = 595.3
"""Points across an A4 page: the scale of a page whose resolution is unknown."""


def points_per_pixel(page: PageResult, layout: PageLayout) -> float:
    """Points per pixel of the image sent to OCR: from the page's resolution when known,
    else as if the page's shorter side were A4's."""
    geometry = page.geometry
    if geometry is not None and geometry.dpi and geometry.image_width:
        return geometry.source_width / geometry.image_width * 72.0 / geometry.dpi
    return A4_SHORT_SIDE / max(min(layout.width, layout.height), 1)


def body_height(layouts: Sequence[PageLayout], scales: Sequence[float]) -> float | None:
    """The median height of the document's body text lines, in points (None: no body)."""
    heights = [p.line_height * scale for layout, scale in zip(layouts, scales, strict=True)
               for p in layout.paragraphs if p.kind == "text" and p.line_height
               for _ in p.lines or (None,)]
    return median(heights) if heights else None


def size_levels(heights: Sequence[float], body: float | None) -> dict[float, int]:
    """Each title height's level (1 the largest), from the clusters of all of them."""
    clusters: list[list[float]] = []
    for height in sorted(set(heights), reverse=True):
        if clusters and height * SAME_SIZE >= clusters[-1][0]:
            clusters[-1].append(height)
        else:
            clusters.append([height])
    large = [c for c in clusters if body is None or c[0] > BODY_SIZE * body]
    levels: dict[float, int] = {}
    for rank, cluster in enumerate(large, start=1):
        levels.update(dict.fromkeys(cluster, min(rank, MAX_LEVEL)))
    body_level = min(len(large) + 1, MAX_LEVEL)
    for cluster in clusters[len(large):]:
        levels.update(dict.fromkeys(cluster, body_level))
    return levels


def level_headings(layouts: Sequence[PageLayout], pages: Sequence[PageResult]) -> list[PageLayout]:
    """The pages with every title's level judged against the whole document."""
    scales = [points_per_pixel(page, layout) for page, layout in zip(pages, layouts, strict=True)]
    heights = [p.line_height * scale for layout, scale in zip(layouts, scales, strict=True)
               for p in layout.paragraphs if p.kind == "title" and p.line_height]
    if not heights:
        return list(layouts)
    levels = size_levels(heights, body_height(layouts, scales))
    out = []
    for layout, scale in zip(layouts, scales, strict=True):
        paragraphs = tuple(
            replace(p, level=levels[p.line_height * scale])
            if p.kind == "title" and p.line_height else p
            for p in layout.paragraphs
        )
        out.append(replace(layout, paragraphs=paragraphs))
    return out
