"""Reading order of a page's parts (layout regions, or paragraphs found without them).

A recursive XY-cut on the parts' boxes: the page is cut at empty horizontal bands into
stacked groups; a group that spans the page's width (a title, a full-width paragraph)
is a band of its own, and the groups between two such bands are read together as one
band of columns (so two columns whose paragraph gaps happen to line up, or where one
column has a gap the other has not, are still read column by column); each column is
cut again the same way. The result is
a list of bands, each a list of columns, each a list of parts in order. A band has more
than one column only when its columns are tall enough to be columns of text
(`MIN_COLUMN_SHARE` of the page); side-by-side odds and ends are read left to right.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
Box = tuple[float, float, float, float]

MIN_COLUMN_SHARE = 0.12
"""A column of a band is at least this share of the page's height."""
MIN_COLUMN_WIDTH = 0.2
"""A column of a band is at least this share of the band's width."""
SPANNING = 0.6
"""A part this wide (share of the page's text width), or one across the middle of the
page, that nothing stands beside spans the columns: it ends the band of columns above."""


def _split(items: list[T], box: Callable[[T], Box], axis: int) -> list[list[T]]:
    """Groups separated by an empty strip along `axis` (0: vertical cut, x; 1: y)."""
    lo, hi = (0, 2) if axis == 0 else (1, 3)
    groups: list[list[T]] = []
    end = float("-inf")
    for item in sorted(items, key=lambda i: box(i)[lo]):
        b = box(item)
        if groups and b[lo] < end:
            groups[-1].append(item)
            end = max(end, b[hi])
        else:
            groups.append([item])
            end = b[hi]
    return groups


def strips(items: list[T], box: Callable[[T], Box], axis: int) -> list[list[T]]:
    """Groups of items separated by an empty strip: across the page (axis 1, top to
    bottom) or down it (axis 0, left to right)."""
    return _split(items, box, axis)


def read_flat(items: list[T], box: Callable[[T], Box], depth: int = 0) -> list[T]:
    """Items in reading order: top to bottom, columns left to right."""
    if len(items) < 2 or depth > 20:
        return items
    rows = _split(items, box, 1)
    if len(rows) > 1:
        return [i for row in rows for i in read_flat(row, box, depth + 1)]
    columns = _split(items, box, 0)
    if len(columns) > 1:
        return [i for col in columns for i in read_flat(col, box, depth + 1)]
    return sorted(items, key=lambda i: (box(i)[1], box(i)[0]))


def read_bands(
    items: Sequence[T], box: Callable[[T], Box], page_height: float
) -> list[list[list[T]]]:
    """Bands (top to bottom) of columns (left to right) of items in reading order."""
    bands: list[list[list[T]]] = []
    pending: list[T] = []
    if not items:
        return bands
    left, right = min(box(i)[0] for i in items), max(box(i)[2] for i in items)
    middle, slack = (left + right) / 2, 0.02 * (right - left)
    for row in _split(list(items), box, 1):
        start, end = min(box(i)[0] for i in row), max(box(i)[2] for i in row)
        crosses = start < middle - slack and end > middle + slack
        narrow = end - start < SPANNING * (right - left) and not crosses
        if _thin_across(row, box, middle, slack, page_height):
            pass  # a running title beside a header: no column runs through it
        elif len(_split(row, box, 0)) > 1 or narrow:
            pending += row  # in one column, or side by side: part of the columns around
            continue
        bands += _columns(pending, box, page_height)
        pending = []
        bands.append([read_flat(row, box)])
    bands += _columns(pending, box, page_height)
    merged: list[list[list[T]]] = []
    for band in bands:  # one-column bands in a row read as one
        if merged and len(band) == 1 and len(merged[-1]) == 1:
            merged[-1][0] += band[0]
        else:
            merged.append(band)
    return merged


def _thin_across(row: list[T], box: Callable[[T], Box], middle: float, slack: float,
                 page_height: float) -> bool:
    """A strip of side-by-side parts, too low to be columns, one of which runs across the
    page's middle (a running title and a page header on one line): a band of its own,
    or the columns below could not be told apart."""
    height = max(box(i)[3] for i in row) - min(box(i)[1] for i in row)
    return height < MIN_COLUMN_SHARE * page_height and any(
        box(i)[0] < middle - slack and box(i)[2] > middle + slack for i in row)


def _wide_columns(columns: list[list[T]], box: Callable[[T], Box]) -> list[list[T]]:
    """Columns at least `MIN_COLUMN_WIDTH` of the band wide: a narrow strip (a line of
    vertical text, a margin note) joins the column beside it."""
    left = min(box(i)[0] for col in columns for i in col)
    right = max(box(i)[2] for col in columns for i in col)
    least = MIN_COLUMN_WIDTH * (right - left)

    def width(col: list[T]) -> float:
        return max(box(i)[2] for i in col) - min(box(i)[0] for i in col)

    merged = [list(col) for col in columns]
    while len(merged) > 1 and min(width(c) for c in merged) < least:
        narrow = min(range(len(merged)), key=lambda n: width(merged[n]))
        strip = merged.pop(narrow)
        merged[max(narrow - 1, 0)] += strip  # the column on its left (or, first, its right)
    return merged


def _columns(items: list[T], box: Callable[[T], Box], page_height: float) -> list[list[list[T]]]:
    if not items:
        return []
    columns = _wide_columns(_split(items, box, 0), box)
    tall = all(
        max(box(i)[3] for i in col) - min(box(i)[1] for i in col) >= MIN_COLUMN_SHARE * page_height
        for col in columns
    )
    if len(columns) > 1 and tall:
        return [[read_flat(col, box) for col in columns]]
    return [[read_flat(items, box)]]
