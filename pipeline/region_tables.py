"""A table region's OCR boxes as rows and columns of cells, its ruled lines first.

Where the table is drawn with rules (`table_rules.py`), they say where it is and where
its columns part:

- the ruled grid: the horizontal rules sharing one left and right end (the most of them,
  at least two) span the table; blocks of the region outside that span (a sidebar the
  layout model's box overhangs) are not cells, and go back to the page as text;
- vertical rules crossing a third of the grid or more part its columns; a block that
  runs across one (a row read as one OCR box) is cut there, its characters shared out
  by their advance (wide CJK characters count two);
- no two blocks with a horizontal rule between them share a row.

Without rules, rows are bands of blocks whose vertical extents overlap (half the smaller
height) and columns are bands of the x axis that no block crosses the gaps of: every
block's horizontal extent is projected onto the axis, overlapping extents merge, and
each merged stretch is a column. A block that spans several columns (a heading over two)
sits in the first one it covers; a heading row whose boxes each run over several of the
columns below (the OCR read the headings as one box) is cut between those columns.
Cells hold their blocks' text, left to right. Column widths (for the Word table) run
from one column's start to the next one's.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from pipeline.models import Block

MIN_GAP = 4.0
"""Pixels of empty x axis between two columns, at least."""
SAME_END = 0.03
"""Rules whose ends lie within this share of the region's width of each other's align."""
CROSSING = 1 / 3
"""A vertical rule parts columns when it crosses this share of the grid's height."""

NEAR_SPACE = 0.25
"""A cut moves to the space nearest it within this share of the block's characters (the
box spans the gap between the columns, the text has one space for it)."""

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Grid:
    """A table read from its region: cells row by row (every row as long), each column's
    width in pixels, and the blocks that lay in the region but outside the table."""

    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...] = ()
    box: Box | None = None
    """The table's own box, where rules narrowed it (else None: the region's)."""
    outside: tuple[Block, ...] = field(default=())
    merges: tuple[tuple[int, int, int, int], ...] = ()
    """Cells spanning others, as (row, column, rows, columns): headings across walls."""


@dataclass(frozen=True)
class _Cellbox:
    text: str
    left: float
    top: float
    right: float
    bottom: float


def _cellbox(block: Block) -> _Cellbox:
    xs = [x for x, _ in block.box]
    ys = [y for _, y in block.box]
    return _Cellbox(block.text.strip(), min(xs), min(ys), max(xs), max(ys))


def row_bands(boxes: Sequence[_Cellbox], rules: Sequence[float] = ()) -> list[list[_Cellbox]]:
    """Blocks in rows; `rules` are the y of horizontal rules no row runs across."""
    rows: list[list[_Cellbox]] = []
    for box in sorted(boxes, key=lambda b: (b.top + b.bottom) / 2):
        if rows:
            top = min(b.top for b in rows[-1])
            bottom = max(b.bottom for b in rows[-1])
            shared = min(bottom, box.bottom) - max(top, box.top)
            middle = (box.top + box.bottom) / 2
            ruled = any((top + bottom) / 2 < y < middle for y in rules)
            if shared > 0.5 * min(bottom - top, box.bottom - box.top) and not ruled:
                rows[-1].append(box)
                continue
        rows.append([box])
    return rows


def column_bands(boxes: Sequence[_Cellbox], spanning: float = 0.6,
                 walls: Sequence[float] = ()) -> list[tuple[float, float]]:
    """x stretches, left to right. Blocks wider than `spanning` of the table (titles,
    notes across the table) are left out of the projection so they do not merge all;
    where there are walls (the x of column rules) the blocks across one are left out
    instead (a heading over a gutter), and no stretch runs across a wall."""
    if not boxes:
        return []
    left, right = min(b.left for b in boxes), max(b.right for b in boxes)
    if walls:  # the walls say what spans columns
        narrow = [b for b in boxes
                  if not any(b.left + MIN_GAP < w < b.right - MIN_GAP for w in walls)]
    else:
        narrow = [b for b in boxes if b.right - b.left < spanning * (right - left)]
    narrow = narrow or list(boxes)
    bands: list[list[float]] = []
    for box in sorted(narrow, key=lambda b: b.left):
        walled = bands and any(bands[-1][1] - MIN_GAP <= w < (box.left + box.right) / 2
                               for w in walls)
        if bands and box.left < bands[-1][1] + MIN_GAP and not walled:
            bands[-1][1] = max(bands[-1][1], box.right)
        else:
            bands.append([box.left, box.right])
    return [(a, b) for a, b in bands]


def table_rows(blocks: Sequence[Block]) -> tuple[tuple[str, ...], ...]:
    """The table's cells, row by row; every row has as many cells as there are columns."""
    return read_table(blocks).rows


def read_table(blocks: Sequence[Block], rules: Sequence[Box] = ()) -> Grid:
    """The table in a region's blocks, with the ruled lines found in the region (boxes,
    left, top, right, bottom, in the blocks' pixels)."""
    texts = [b for b in blocks if b.text.strip()]
    across = [r for r in rules if r[2] - r[0] >= r[3] - r[1]]
    down = [r for r in rules if r[3] - r[1] > r[2] - r[0]]
    span = _grid_span(across, [_cellbox(b) for b in texts])
    inside, outside = list(texts), []
    if span is not None:
        inside = [b for b in texts if _within(_cellbox(b), span)]
        outside = [b for b in texts if not _within(_cellbox(b), span)]
    boxes = [_cellbox(b) for b in inside]
    if not boxes:
        return Grid((), (), None, tuple(outside))
    top, bottom = min(b.top for b in boxes), max(b.bottom for b in boxes)
    left = span[0] if span else min(b.left for b in boxes)
    right = span[1] if span else max(b.right for b in boxes)
    walls = _column_rules(down, left, right, top, bottom)
    typical = typical_advance([b for b in boxes if not any(b.left < w < b.right for w in walls)])
    boxes = [piece for box in boxes
             for piece in _cut(box, _walls_beside(box, walls, down), typical)]
    columns, boxes = _columns_under_heads(boxes, walls)
    where = _column_at if walls else _column_of
    ruled = [r for r in across if _spans(r, (left, right))]
    rows = []
    merges = []
    for band in row_bands(boxes, [(r[1] + r[3]) / 2 for r in ruled]):
        cells: list[list[str]] = [[] for _ in columns]
        for box in sorted(band, key=lambda b: b.left):
            cells[where(box, columns)].append(box.text)
        rows.append(tuple(" ".join(c) for c in cells))
        if len(band) == 1 and walls:  # a heading across the walls: one merged cell
            first, last = _columns_under(band[0], columns)
            if last > first:
                merges.append((len(rows) - 1, first, 1, last - first + 1))
                rows[-1] = tuple(band[0].text if n == first else ""
                                 for n in range(len(columns)))  # the text in the merged cell
    grid = (left, min([top, *(r[1] for r in ruled)]), right, bottom) if span else None
    return Grid(tuple(rows), _widths(columns, left, right, walls), grid, tuple(outside),
                tuple(merges))


def _columns_under(box: _Cellbox, columns: Sequence[tuple[float, float]]) -> tuple[int, int]:
    """The first and last column a box reaches into (beyond the gap between them)."""
    under = [n for n, (a, b) in enumerate(columns)
             if min(b, box.right) - max(a, box.left) > 2 * MIN_GAP]
    return (under[0], under[-1]) if under else (0, 0)


def _columns_under_heads(boxes: list[_Cellbox], walls: Sequence[float] = ()) -> tuple[
        list[tuple[float, float]], list[_Cellbox]]:
    """Column bands (none across a wall), and the blocks; where a heading row's boxes
    each run over several columns of the rows below ("Number Debits Credits Balance"
    read as one box), the columns are those of the rows below, and the heading boxes are
    cut between them."""
    columns = column_bands(boxes, walls=walls)
    rows = row_bands(boxes)
    if len(rows) < 3 or len(rows[0]) < 2:
        return columns, boxes
    below = column_bands([b for row in rows[1:] for b in row], walls=walls)
    if len(below) > len(columns):
        columns = below
    cuts = [(a[1] + b[0]) / 2 for a, b in pairwise(columns)]
    heads = {id(b) for b in rows[0]}
    return columns, [p for b in boxes for p in (_cut(b, cuts) if id(b) in heads else [b])]


def _grid_span(across: Sequence[Box], boxes: Sequence[_Cellbox]) -> tuple[float, float] | None:
    """The left and right ends shared by most horizontal rules (two at least; the
    longest such group where several are as large)."""
    if len(across) < 2 or not boxes:
        return None
    width = max(b.right for b in boxes) - min(b.left for b in boxes)
    tolerance = max(SAME_END * width, 6.0)
    best: list[Box] = []
    for rule in across:
        group = [r for r in across
                 if abs(r[0] - rule[0]) <= tolerance and abs(r[2] - rule[2]) <= tolerance]
        if len(group) > len(best) or (len(group) == len(best) and best
                                      and rule[2] - rule[0] > best[0][2] - best[0][0]):
            best = group
    if len(best) < 2:
        return None
    return min(r[0] for r in best), max(r[2] for r in best)


def _within(box: _Cellbox, span: tuple[float, float]) -> bool:
    """Most of the block lies between the grid's ends."""
    shared = min(box.right, span[1]) - max(box.left, span[0])
    return shared >= 0.5 * max(box.right - box.left, 1.0)


def _spans(rule: Box, span: tuple[float, float]) -> bool:
    return min(rule[2], span[1]) - max(rule[0], span[0]) >= 0.5 * (span[1] - span[0])


def _column_rules(down: Sequence[Box], left: float, right: float, top: float,
                  bottom: float) -> list[float]:
    """x of the vertical rules that part the grid's columns (not its outer frame): the
    rules at one x (a gutter broken by headings is several) cross a third of it."""
    height = max(bottom - top, 1.0)
    margin = max(0.01 * (right - left), 4.0)
    groups: list[list[Box]] = []
    for rule in sorted(down, key=lambda r: (r[0] + r[2]) / 2):
        x = (rule[0] + rule[2]) / 2
        if not left + margin < x < right - margin:
            continue
        if groups and x - (groups[-1][0][0] + groups[-1][0][2]) / 2 < 2 * margin:
            groups[-1].append(rule)
        else:
            groups.append([rule])
    return [(g[0][0] + g[0][2]) / 2 for g in groups
            if sum(max(min(r[3], bottom) - max(r[1], top), 0.0) for r in g) >= CROSSING * height]


def _walls_beside(box: _Cellbox, walls: Sequence[float], down: Sequence[Box]) -> list[float]:
    """The walls that have a rule beside the box (a white gutter is broken where a
    heading runs across it: such a line is not cut)."""
    middle = (box.top + box.bottom) / 2
    return [w for w in walls if any(r[0] - 4 <= w <= r[2] + 4 and r[1] <= middle <= r[3]
                                    for r in down)]


def _column_at(box: _Cellbox, columns: Sequence[tuple[float, float]]) -> int:
    """The column holding the box's centre (the nearest one): columns parted by rules."""
    middle = (box.left + box.right) / 2
    return min(range(len(columns)), key=lambda n: 0.0 if columns[n][0] <= middle <= columns[n][1]
               else min(abs(middle - columns[n][0]), abs(middle - columns[n][1])))


def _advance(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def typical_advance(boxes: Sequence[_Cellbox]) -> float | None:
    """The median advance of a narrow character over the boxes (their widths over their
    characters): a box over a gutter is wider than its text by the gutter."""
    units = sorted((b.right - b.left) / max(sum(_advance(c) for c in b.text), 1)
                   for b in boxes if b.text)
    return units[len(units) // 2] if units else None


def _cut(box: _Cellbox, parts: Sequence[float], typical: float | None = None) -> list[_Cellbox]:
    """The block cut at the column rules it runs across, between words: at the space
    where the words before it, set at the table's `typical` advance, end before the rule
    and the words after it begin after it (the box runs over the white between the
    columns); without such a space, where the characters shared out along the whole box
    put the rule (moved to the nearest space)."""
    text = box.text
    advances = [_advance(c) for c in text]
    total, width = sum(advances), box.right - box.left
    unit = width / max(total, 1)  # a narrow character's advance, spread over the box
    inner = [x for x in parts if box.left + unit < x < box.right - unit]
    if not inner or len(text) < 2:
        return [box]
    step = min(typical or unit, unit)
    ends, run = [], 0
    for advance in advances:
        run += advance
        ends.append(run)  # advances up to the end of each character
    pieces, start, x0 = [], 0, box.left
    for x in inner:
        spaces = [i for i in range(start, len(text)) if text[i] == " "]
        fits = [i for i in spaces if box.left + ends[i - 1] * step <= x + step
                and box.right - (total - ends[i]) * step >= x - step] if step < unit else []
        if fits:
            cut = max(fits, key=lambda i: min(x - box.left - ends[i - 1] * step,
                                              box.right - (total - ends[i]) * step - x))
        else:
            cut = next((i + 1 for i, end in enumerate(ends) if box.left + end * unit >= x),
                       len(text))
            near = min(spaces, key=lambda i: abs(i - cut), default=None)
            if near is not None and abs(near - cut) <= max(3, NEAR_SPACE * len(text)):
                cut = near
        if start < cut < len(text):
            piece = text[start:cut].strip()
            if piece:
                pieces.append(_Cellbox(piece, x0, box.top, x, box.bottom))
            start, x0 = cut, x
    rest = text[start:].strip()
    if rest:
        pieces.append(_Cellbox(rest, x0, box.top, box.right, box.bottom))
    return pieces or [box]


def _widths(columns: Sequence[tuple[float, float]], left: float, right: float,
            walls: Sequence[float]) -> tuple[float, ...]:
    """Each column's width: from the rule before it (else from its start) to the rule
    after it (else to the next column's start)."""
    if not columns:
        return ()
    edges = [left]
    for before, after in pairwise(columns):
        between = [w for w in walls if before[1] - MIN_GAP <= w <= after[0] + MIN_GAP]
        edges.append(between[0] if between else after[0])
    edges.append(max(right, columns[-1][1]))
    return tuple(max(b - a, 1.0) for a, b in pairwise(edges))


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
