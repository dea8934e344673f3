"""Reading order: OCR blocks grouped into columns, lines and paragraphs.

One function for every writer (TXT now, Word later), so all formats read the same.

1. Columns (a conservative recursive XY-cut): the blocks are split at empty horizontal
   bands taller than a line, then at a column gutter: an empty vertical strip with
   prose on both sides (wide lines filling their column, side by side). Blocks that
   cross the gutter (titles, full-width paragraphs) cut the page into bands, read in
   turn. Tables and receipts, whose cells are short, are not split into columns.
2. Lines: blocks whose vertical centres fall within half a line height of each other
   form a line, read left to right; lines go top to bottom.
3. Paragraphs: a vertical gap larger than `paragraph_gap` line heights.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from pipeline.models import Block

MIN_COLUMN_BLOCKS = 3
"""Each side of a gutter needs this many blocks to count as a column."""
MIN_FILL = 0.7
"""Median block width / column width: prose fills its column, table cells do not."""
MIN_COLUMN_WIDTH = 0.25
"""A column spans at least this share of the region it is cut from."""


@dataclass(frozen=True)
class Line:
    blocks: tuple[Block, ...]
    top: float
    bottom: float

    @property
    def text(self) -> str:
        return " ".join(b.text.strip() for b in self.blocks if b.text.strip())


@dataclass(frozen=True)
class _Box:
    block: Block
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1.0)


def _box(block: Block) -> _Box:
    xs = [x for x, _ in block.box]
    ys = [y for _, y in block.box]
    return _Box(block, min(xs), min(ys), max(xs), max(ys))


def _split_rows(boxes: list[_Box], min_gap: float) -> list[list[_Box]]:
    """Split where an empty horizontal band at least `min_gap` tall crosses every box."""
    parts: list[list[_Box]] = []
    bottom = float("-inf")
    for box in sorted(boxes, key=lambda b: b.top):
        if parts and box.top - bottom < min_gap:
            parts[-1].append(box)
        else:
            parts.append([box])
        bottom = max(bottom, box.bottom) if len(parts[-1]) > 1 else box.bottom
    return parts


def _is_column(side: list[_Box], region_width: float) -> bool:
    """Prose: at least MIN_COLUMN_WIDTH of the region, lines filling their column."""
    if len(side) < MIN_COLUMN_BLOCKS:
        return False
    width = max(b.right for b in side) - min(b.left for b in side)
    return (
        len(side) >= MIN_COLUMN_BLOCKS
        and width >= MIN_COLUMN_WIDTH * region_width
        and median(b.right - b.left for b in side) >= MIN_FILL * width
    )


def _gutter(boxes: list[_Box]) -> float | None:
    """x of a column gutter with prose on both sides, or None."""
    left_edge, right_edge = min(b.left for b in boxes), max(b.right for b in boxes)
    width = right_edge - left_edge
    if width <= 0:
        return None
    edges = sorted({b.left for b in boxes} | {b.right for b in boxes})
    best: tuple[int, float, float, float] | None = None  # fewest crossing, then widest
    for x0, x1 in pairwise(edges):
        middle = (x0 + x1) / 2
        if not left_edge + 0.15 * width <= middle <= right_edge - 0.15 * width:
            continue
        crossing = sum(1 for b in boxes if b.left < middle < b.right)
        candidate = (crossing, x0 - x1, x0, x1)
        if crossing <= 0.5 * len(boxes) and (best is None or candidate < best):
            best = candidate
    if best is None:
        return None
    x = (best[2] + best[3]) / 2
    left = [b for b in boxes if b.right <= x]
    right = [b for b in boxes if b.left >= x]
    if not (_is_column(left, width) and _is_column(right, width)):
        return None
    overlap = min(max(b.bottom for b in left), max(b.bottom for b in right)) - max(
        min(b.top for b in left), min(b.top for b in right)
    )
    return x if overlap > 0 else None


def _segments(boxes: list[_Box], depth: int = 0) -> list[list[_Box]]:
    """Groups of boxes in reading order; each group is read row by row."""
    if len(boxes) < 2 * MIN_COLUMN_BLOCKS or depth > 12:
        return [boxes]
    parts = _split_rows(boxes, 1.2 * median(b.height for b in boxes))
    if len(parts) > 1:
        return [seg for part in parts for seg in _segments(part, depth + 1)]
    x = _gutter(boxes)
    if x is None:
        return [boxes]
    segments: list[list[_Box]] = []
    band: list[_Box] = []
    for box in sorted(boxes, key=lambda b: b.top):
        if box.left < x < box.right:  # crosses the gutter: ends the band above it
            segments += [*_columns(band, x, depth), [box]]
            band = []
        else:
            band.append(box)
    return segments + _columns(band, x, depth)


def _columns(band: list[_Box], x: float, depth: int) -> list[list[_Box]]:
    left = [b for b in band if b.right <= x]
    right = [b for b in band if b.left >= x]
    return [seg for side in (left, right) if side for seg in _segments(side, depth + 1)]


def _rows(boxes: Sequence[_Box]) -> list[Line]:
    rows: list[list[_Box]] = []
    for box in sorted(boxes, key=lambda b: (b.top + b.bottom) / 2):
        centre = (box.top + box.bottom) / 2
        if rows:
            row = rows[-1]
            top, bottom = min(b.top for b in row), max(b.bottom for b in row)
            if abs(centre - (top + bottom) / 2) <= min(box.height, bottom - top) / 2:
                row.append(box)
                continue
        rows.append([box])
    return [
        Line(
            blocks=tuple(b.block for b in sorted(row, key=lambda b: b.left)),
            top=min(b.top for b in row),
            bottom=max(b.bottom for b in row),
        )
        for row in rows
    ]


def group_lines(blocks: Iterable[Block]) -> list[Line]:
    """Blocks into lines in reading order: column by column, top to bottom, left to right."""
    boxes = [_box(b) for b in blocks]
    if not boxes:
        return []
    return [line for segment in _segments(boxes) for line in _rows(segment)]


def group_paragraphs(lines: list[Line], paragraph_gap: float = 1.2) -> list[list[Line]]:
    """Consecutive lines split where the gap exceeds `paragraph_gap` line heights, or
    where reading goes back up the page (the next column)."""
    paragraphs: list[list[Line]] = []
    for line in lines:
        if paragraphs:
            previous = paragraphs[-1][-1]
            height = max(previous.bottom - previous.top, line.bottom - line.top, 1.0)
            if 0 <= line.top - previous.bottom <= paragraph_gap * height or (
                line.top < previous.bottom and line.top >= previous.top
            ):
                paragraphs[-1].append(line)
                continue
        paragraphs.append([line])
    return paragraphs


def page_text(blocks: Iterable[Block]) -> str:
    """A page as text: lines in reading order, a blank line between paragraphs."""
    return lines_text(group_lines(blocks))


def lines_text(lines: list[Line]) -> str:
    """Lines already in reading order as text, a blank line between paragraphs."""
    paragraphs = group_paragraphs(lines)
    return "\n\n".join("\n".join(line.text for line in para) for para in paragraphs)
