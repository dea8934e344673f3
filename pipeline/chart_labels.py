"""Charts the layout model missed, found from their labels; text on the page's margin.

    page_layout.py   a page's parts: layout regions, and groups of blocks outside them
    chart_labels.py  which of those groups are a chart's labels or margin text (this module)

A chart the model does not box leaves its axis ticks, dates and legend as loose text,
each piece a "paragraph" of its own ("10% 5% 0% -5%", "2022-08-24 2023-01-05"). Pieces
that are mostly figures (digits, signs, per cent) and stand close together are taken as
one chart: the box around them, with any other loose text mostly inside it or just
over or under it (the legend), is a figure, which the Word writer crops from the page
like the ones the model found.

Vertical text standing alone in the page's outer margin (the side tabs of a report,
"公司报告", an arXiv stamp) is page furniture, written with the running heads.
"""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[float, float, float, float]

LABEL_SHARE = 0.6
"""A label's characters (spaces aside) are at least this share digits, signs and dots."""
LABEL_CHARS = 40
MIN_LABELS = 3
"""A chart has at least this many labels."""
NEAR = 3.0
"""Labels of one chart are at most this many line heights apart."""
LEGEND = 2.0
"""Text mostly inside the labels' box widened by this many line heights is the chart's."""
MARGIN_SHARE = 0.08
"""Margin text lies within this share of the page's width from its left or right edge."""

_FIGURES = set("0123456789%+-.,:/()\u2212\u2013")


def is_label(text: str) -> bool:
    """Mostly figures: an axis tick, a date, a percentage."""
    chars = [c for c in text if not c.isspace()]
    if not chars or len(chars) > LABEL_CHARS or not any(c.isdigit() for c in chars):
        return False
    return sum(c in _FIGURES for c in chars) >= LABEL_SHARE * len(chars)


def chart_groups(pieces: Sequence[tuple[Box, str]], line_height: float) -> list[list[int]]:
    """Indices of the loose pieces (box, text) that make up each chart: its labels, and
    pieces mostly inside the box around them."""
    labels = [i for i, (_, text) in enumerate(pieces) if is_label(text)]
    groups: list[list[int]] = []
    for index in labels:
        near = [g for g in groups if any(_distance(pieces[index][0], pieces[j][0])
                                         <= NEAR * line_height for j in g)]
        merged = [index] + [j for g in near for j in g]
        groups = [g for g in groups if g not in near] + [merged]
    charts = []
    for group in groups:
        if len(group) < MIN_LABELS:
            continue
        a = _union([pieces[i][0] for i in group])
        pad = LEGEND * line_height  # a legend over or under the plot
        area = (a[0] - pad, a[1] - pad, a[2] + pad, a[3] + pad)
        inside = [i for i, (box, _) in enumerate(pieces)
                  if i not in group and _share_inside(box, area) >= 0.5]
        charts.append(sorted(group + inside))
    return charts


def is_margin_text(boxes: Sequence[Box], texts: Sequence[str], page_width: float) -> bool:
    """Every piece vertical (a column of characters, far taller than wide) and all of
    them in the outer margin of the page."""
    if not boxes:
        return False
    vertical = all(b[3] - b[1] > 2 * (b[2] - b[0]) and len(t.strip()) >= 2
                   for b, t in zip(boxes, texts, strict=True))
    left, right = min(b[0] for b in boxes), max(b[2] for b in boxes)
    margin = MARGIN_SHARE * page_width
    return vertical and (right <= margin or left >= page_width - margin)


def _distance(a: Box, b: Box) -> float:
    dx = max(a[0] - b[2], b[0] - a[2], 0.0)
    dy = max(a[1] - b[3], b[1] - a[3], 0.0)
    return max(dx, dy)


def _union(boxes: Sequence[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def _share_inside(box: Box, area: Box) -> float:
    w = min(box[2], area[2]) - max(box[0], area[0])
    h = min(box[3], area[3]) - max(box[1], area[1])
    size = max((box[2] - box[0]) * (box[3] - box[1]), 1.0)
    return max(w, 0.0) * max(h, 0.0) / size
