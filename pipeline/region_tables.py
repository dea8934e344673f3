"""A table region's OCR boxes as rows and columns of cells.

Rows are bands of blocks whose vertical extents overlap (half the smaller height);
columns are bands of the x axis that no block crosses the gaps of: every block's
horizontal extent is projected onto the axis, overlapping extents merge, and each
merged stretch is a column. A block that spans several columns (a heading over two)
sits in the first one it covers. Cells hold their blocks' text, left to right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.models import Block

MIN_GAP = 4.0
"""Pixels of empty x axis between two columns, at least."""


@dataclass(frozen=True)
class _Cellbox:
    block: Block
    left: float
    top: float
    right: float
    bottom: float


def _cellbox(block: Block) -> _Cellbox:
    xs = [x for x, _ in block.box]
    ys = [y for _, y in block.box]
    return _Cellbox(block, min(xs), min(ys), max(xs), max(ys))


def row_bands(boxes: Sequence[_Cellbox]) -> list[list[_Cellbox]]:
    rows: list[list[_Cellbox]] = []
    for box in sorted(boxes, key=lambda b: (b.top + b.bottom) / 2):
        if rows:
            top = min(b.top for b in rows[-1])
            bottom = max(b.bottom for b in rows[-1])
            shared = min(bottom, box.bottom) - max(top, box.top)
            if shared > 0.5 * min(bottom - top, box.bottom - box.top):
                rows[-1].append(box)
                continue
        rows.append([box])
    return rows


def column_bands(boxes: Sequence[_Cellbox], spanning: float = 0.6) -> list[tuple[float, float]]:
    """x stretches, left to right. Blocks wider than `spanning` of the table (titles,
    notes across the table) are left out of the projection so they do not merge all."""
    if not boxes:
        return []
    left, right = min(b.left for b in boxes), max(b.right for b in boxes)
    narrow = [b for b in boxes if b.right - b.left < spanning * (right - left)] or list(boxes)
    bands: list[list[float]] = []
    for box in sorted(narrow, key=lambda b: b.left):
        if bands and box.left < bands[-1][1] + MIN_GAP:
            bands[-1][1] = max(bands[-1][1], box.right)
        else:
            bands.append([box.left, box.right])
    return [(a, b) for a, b in bands]


def table_rows(blocks: Sequence[Block]) -> tuple[tuple[str, ...], ...]:
    """The table's cells, row by row; every row has as many cells as there are columns."""
    boxes = [_cellbox(b) for b in blocks if b.text.strip()]
    columns = column_bands(boxes)
    rows = []
    for band in row_bands(boxes):
        cells: list[list[str]] = [[] for _ in columns]
        for box in sorted(band, key=lambda b: b.left):
            cells[_column_of(box, columns)].append(box.block.text.strip())
        rows.append(tuple(" ".join(c) for c in cells))
    return tuple(rows)


def _column_of(box: _Cellbox, columns: Sequence[tuple[float, float]]) -> int:
    """The column the box overlaps first (most, for a box inside one band)."""
    best, most = 0, float("-inf")
    for number, (left, right) in enumerate(columns):
        shared = min(right, box.right) - max(left, box.left)
        if shared > 0:
            return number
        if shared > most:
            best, most = number, shared
    return best
