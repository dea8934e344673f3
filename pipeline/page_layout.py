"""A page as paragraphs: what the Word, Markdown and reflowed TXT outputs write.

    layout.py        blocks into lines (no layout regions needed)
    paragraphs.py    lines into paragraphs, and their text
    region_tables.py a table region's blocks into rows and columns (its rules first:
                     table_rules.py, found beside the layout model)
    chart_labels.py  charts the model missed, from their labels; margin text
    answer_tables.py the tables an OCR answer gives (general-table, the recognizer)
    page_order.py    reading order of the page's parts (bands of columns)
    page_layout.py   all of it for one page (this module)

Every OCR block (turned upright, `upright.py`) goes to the smallest layout region that
holds most of it; blocks outside any region are grouped as `layout.py` does. Each part
is then read in the order `page_order` gives: text parts split into paragraphs, titles
become headings (a first level by their line height against the page's body text;
`heading_levels.py` then judges levels over the whole document), captions,
headers and footers keep their kind, tables become rows of cells, figures keep their box
(the Word writer crops them from the page image) and the text found inside them. Without
regions (layout off, an older JSON result) the same runs on the grouped lines alone, and
a short paragraph set in much larger type than the body text is taken as a heading.
Tables that the OCR answer itself gives (`general-table`, `smart-document-recognizer`)
are table regions whose cells are the answer's, spanning cells kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from statistics import median
from typing import Literal

from pipeline.answer_tables import Table, tables_of
from pipeline.chart_labels import chart_groups, is_margin_text
from pipeline.layout import Line, group_lines, group_paragraphs
from pipeline.models import Block, OcrResult, PageResult, Region
from pipeline.page_order import read_bands, strips
from pipeline.paragraphs import BULLETS, join_lines, line_height, split_paragraphs
from pipeline.region_tables import read_table
from pipeline.upright import quarter_turns, to_upright, upright_blocks

ParagraphKind = Literal[
    "text", "title", "caption", "header", "footer", "figure", "table", "equation"]
Box = tuple[float, float, float, float]

IN_REGION = 0.5
"""A block belongs to a region holding at least this share of its box."""
HEADING_RATIO = 1.4
"""Without a title region: a short paragraph this many times taller than the body text."""
HEADING_MAX_CHARS = 120
FIGURE_TEXT_LINES, FIGURE_TEXT_SHARE = 6, 0.2
"""A figure with this many lines of text covering this share of it is read as a table
(the model takes ruled tables for pictures: 0.42 of a bank statement's table is text,
0.05 to 0.07 of the handbook's drawings)."""
TITLE_CASE_WORDS = (2, 8)
"""A lone line of 2 to 8 words, each longer one capitalised, no final stop: a heading
set in the body's size (bold run-in headings of manuals and books)."""

_KIND: dict[str, ParagraphKind] = {
    "text": "text", "equation": "equation", "title": "title", "figure": "figure",
    "figure_caption": "caption", "table_caption": "caption", "table": "table",
    "header": "header", "footer": "footer",
}


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of a page, in the upright page's pixels (the OCR image's scale)."""

    kind: ParagraphKind
    text: str
    box: Box
    """left, top, right, bottom."""
    lines: tuple[Line, ...] = ()
    line_height: float = 0.0
    level: int = 0
    """Headings: 1 (largest) to 3."""
    rows: tuple[tuple[str, ...], ...] = ()
    """Tables: the cells, row by row."""
    merges: tuple[tuple[int, int, int, int], ...] = ()
    """Tables: cells spanning others, as (row, column, rows, columns)."""
    widths: tuple[float, ...] = ()
    """Tables: each column's width in pixels, where known."""
    band: int = 0
    column: int = 0
    columns: int = 1
    """Where it stands: band `band` of the page has `columns` columns; this is in `column`."""


@dataclass(frozen=True)
class PageLayout:
    index: int
    width: int
    height: int
    """The upright page's size, in the OCR image's pixels."""
    paragraphs: tuple[Paragraph, ...] = field(default=())


@dataclass
class _Part:
    kind: ParagraphKind
    box: Box
    blocks: list[Block]
    table: Table | None = None
    """The OCR answer's own table, for a table region that came from it."""
    loose: bool = False
    """Made of blocks outside every region."""


def page_layout(page: PageResult) -> PageLayout:
    result = page.result
    turn = quarter_turns(result.direction)
    width, height = (result.height, result.width) if turn in (90, 270) else (
        result.width, result.height)
    tables = [t for t in tables_of(result) if t.box is not None]
    answered = [Region("table", _as_ints(t.box)) for t in tables if t.box is not None]
    found = [r for r in page.regions or ()
             if r.kind != "rule" and not (answered and r.kind == "table")]
    regions = _upright_regions(answered + found, turn, result)  # the answer's tables win
    rules = [r.box for r in _upright_regions(
        [r for r in page.regions or () if r.kind == "rule"], turn, result)]
    parts = _parts(upright_blocks(result), regions)
    for part, table in zip(parts, tables, strict=False):  # the answer's tables come first
        part.table = table
    body = _body_height(parts)
    parts = _with_column_heads(_charts_and_margins(parts, width, body), body)
    # Without regions the parts are already in `layout.py`'s reading order, the TXT's.
    bands = read_bands(parts, lambda p: p.box, height) if regions else [[parts]]
    paragraphs: list[Paragraph] = []
    for number, band in enumerate(bands):
        for column, members in enumerate(band):
            for part in members:
                for paragraph in _paragraphs(part, body, rules):
                    paragraphs.append(replace(
                        paragraph, band=number, column=column, columns=len(band)))
    return PageLayout(page.index, width, height, tuple(_labels_beside(paragraphs, body)))


LABEL_CHARS = 12
"""A label read beside its text (a name, a term) is one line this long at most."""


def _labels_beside(paragraphs: list[Paragraph], body: float) -> list[Paragraph]:
    """A short one-line paragraph with a paragraph beside it whose first line is on the
    same line (a name and the details set beside it, a term and its definition) is one
    paragraph with it, the label first."""
    result = list(paragraphs)
    for label in [p for p in paragraphs if p.kind == "text" and len(p.lines) == 1
                  and len(p.text) <= LABEL_CHARS]:
        for number, other in enumerate(result):
            if other is label or other.kind != "text" or not other.lines:
                continue
            first = other.lines[0]
            shared = min(first.bottom, label.box[3]) - max(first.top, label.box[1])
            gap = other.box[0] - label.box[2]
            if 0 <= gap <= 3 * body and shared >= 0.5 * min(
                    first.bottom - first.top, label.box[3] - label.box[1]):
                merged = replace(other, text=join_lines([label.text, other.text]),
                                 box=_union([label.box, other.box]),
                                 lines=label.lines + other.lines)
                at = result.index(label)
                result[min(at, number)] = merged  # where the first of them was read
                del result[max(at, number)]
                break
    return result


def _as_ints(box: Box) -> tuple[int, int, int, int]:
    return round(box[0]), round(box[1]), round(box[2]), round(box[3])


def _upright_regions(found: Sequence[Region], turn: int, result: OcrResult) -> list[Region]:
    regions = []
    for region in found:
        x0, y0, x1, y1 = region.box
        a = to_upright((x0, y0), turn, result.width, result.height)
        b = to_upright((x1, y1), turn, result.width, result.height)
        box = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
        regions.append(Region(region.kind, box, region.score))
    return regions


def block_box(block: Block) -> Box:
    xs = [x for x, _ in block.box]
    ys = [y for _, y in block.box]
    return min(xs), min(ys), max(xs), max(ys)


def _share_inside(box: Box, region: Sequence[float]) -> float:
    w = min(box[2], region[2]) - max(box[0], region[0])
    h = min(box[3], region[3]) - max(box[1], region[1])
    area = max((box[2] - box[0]) * (box[3] - box[1]), 1.0)
    return max(w, 0) * max(h, 0) / area


def _holds(region: Sequence[float], box: Box) -> bool:
    """Most of the block is inside the region, or the region (a page number, a short
    header the model boxed tightly) is almost all inside a block not much larger."""
    if _share_inside(box, region) >= IN_REGION:
        return True
    inside = _share_inside((region[0], region[1], region[2], region[3]), box)
    return inside >= 0.8 and _area(box) <= 3 * _area(region)


def _parts(blocks: Sequence[Block], regions: Sequence[Region]) -> list[_Part]:
    by_region: dict[int, list[Block]] = {i: [] for i in range(len(regions))}
    loose: list[Block] = []
    for block in blocks:
        if not block.text.strip():
            continue
        box = block_box(block)
        holders = [i for i, r in enumerate(regions) if _holds(r.box, box)]
        if holders:
            smallest = min(holders, key=lambda i: _area(regions[i].box))
            by_region[smallest].append(block)
        else:
            loose.append(block)
    parts = []
    for number, region in enumerate(regions):
        members = by_region[number]
        if members or region.kind in ("figure", "table"):  # an empty text region is a false find
            left, top, right, bottom = region.box
            parts.append(_Part(_KIND[region.kind], (left, top, right, bottom), members))
    for column in _by_column(loose, regions):
        for group in group_paragraphs(group_lines(column)):
            found = [b for line in group for b in line.blocks]
            parts.append(_Part("text", _union([block_box(b) for b in found]), found, loose=True))
    return parts


def _charts_and_margins(parts: list[_Part], width: float, body: float) -> list[_Part]:
    """Loose labels of a chart the model missed as one figure; vertical text in the
    page's margin (`chart_labels.py`) and a title on the line of the page header (a
    paper's running title) as page furniture."""
    loose = [p for p in parts if p.loose]
    owners = [p for p in loose for _ in p.blocks]
    pieces = [(block_box(b), b.text) for p in loose for b in p.blocks]
    taken: set[int] = set()
    charts = []
    for group in chart_groups(pieces, body):
        chosen = set(group)  # blocks; a part goes to the chart when all of its blocks do
        members = [p for p in loose if id(p) not in taken
                   and all(i in chosen for i, o in enumerate(owners) if o is p)]
        if members:
            taken |= {id(m) for m in members}
            charts.append(_Part("figure", _union([m.box for m in members]),
                                [b for m in members for b in m.blocks], loose=True))
    kept = [p for p in parts if id(p) not in taken] + charts
    for bullet in [p for p in kept if p.loose and _lone_bullet(p)]:
        item = _item_of(bullet, kept, body)
        if item is not None:
            item.blocks.append(bullet.blocks[0])
            kept.remove(bullet)
    heads = [p.box for p in kept if p.kind == "header"]
    for part in kept:
        if part.kind in ("text", "title") and is_margin_text(
                [block_box(b) for b in part.blocks], [b.text for b in part.blocks], width):
            part.kind = "header"
        elif part.kind in ("text", "title") and any(
                _same_line(part.box, head) and part.box[3] - part.box[1] < 2 * (head[3] - head[1])
                for head in heads):
            part.kind = "header"  # a running title set on the page header's line
    return kept


HEAD_GAP = 2.0
"""A table's heading row stands at most this many line heights above its region."""


def _with_column_heads(parts: list[_Part], body: float) -> list[_Part]:
    """A table's column headings that the model's table region left out (set above the
    table's top rule, boxed as a header or a title): one line of two or more pieces just
    above the table and within its width joins it, as its first row."""
    for table in [p for p in parts if p.table is None and (p.kind == "table" or (
            p.kind == "figure" and not p.loose and _mostly_text(p, group_lines(p.blocks))))]:
        left, top, right, _ = table.box
        heads = [p for p in parts if p is not table and p.kind in ("header", "title", "text")
                 and p.box[3] - p.box[1] < 2 * body
                 and top - HEAD_GAP * body <= p.box[3] <= top + 0.5 * body
                 and p.box[0] >= left - body and p.box[2] <= right + body]
        pieces = [b for p in heads for b in p.blocks]
        if len(pieces) < 2 or len(group_lines(pieces)) != 1:
            continue
        for head in heads:
            parts.remove(head)
        table.blocks = [*pieces, *table.blocks]
        table.box = (left, min(p.box[1] for p in heads), right, table.box[3])
    return parts


def _same_line(a: Box, b: Box) -> bool:
    shared = min(a[3], b[3]) - max(a[1], b[1])
    return shared >= 0.5 * min(a[3] - a[1], b[3] - b[1])


def _lone_bullet(part: _Part) -> bool:
    return len(part.blocks) == 1 and len(text := part.blocks[0].text.strip()) == 1 and (
        text in BULLETS)


def _item_of(bullet: _Part, parts: Sequence[_Part], body: float) -> _Part | None:
    """The text part whose first line the bullet stands just left of (its list item,
    which the layout model boxed without it)."""
    _, top, right, bottom = bullet.box
    for part in parts:
        if part is bullet or part.kind != "text" or not part.blocks:
            continue
        first = min(part.blocks, key=lambda b: block_box(b)[1])
        x0, y0, _, y1 = block_box(first)
        if 0 <= x0 - right <= 3 * body and min(y1, bottom) - max(y0, top) > 0:
            return part
    return None


def _by_column(loose: Sequence[Block], regions: Sequence[Region]) -> list[list[Block]]:
    """Blocks outside every region (the model missed part of a column), grouped by the
    text region above or below them in the same column, so lines of two columns are
    never read as one."""
    columns: dict[int, list[Block]] = {}
    for block in loose:
        left, _, right, _ = block_box(block)
        width = max(right - left, 1.0)
        best, most = -1, 0.6 * width
        for number, region in enumerate(regions):
            shared = min(right, region.box[2]) - max(left, region.box[0])
            if region.kind in ("text", "title") and shared >= most:
                best, most = number, shared
        columns.setdefault(best, []).append(block)
    return list(columns.values())


def _area(box: Sequence[float]) -> float:
    return max(box[2] - box[0], 0) * max(box[3] - box[1], 0)


def _union(boxes: Sequence[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def _body_height(parts: Sequence[_Part]) -> float:
    heights = [line_height(line) for p in parts if p.kind == "text"
               for line in group_lines(p.blocks)]
    if not heights:
        heights = [line_height(line) for p in parts for line in group_lines(p.blocks)]
    return median(heights) if heights else 1.0


def heading_level(height: float, body: float) -> int:
    ratio = height / max(body, 1.0)
    return 1 if ratio >= 1.8 else 2 if ratio >= 1.3 else 3


def _type_size(line: Line) -> float:
    """The line's height, or for vertical text (several characters in a box more than
    twice as tall as wide) its width."""
    left = min(block_box(b)[0] for b in line.blocks)
    right = max(block_box(b)[2] for b in line.blocks)
    width, height = max(right - left, 1.0), line_height(line)
    return width if height > 2 * width and len(line.text) >= 2 else height


def _looks_like_heading(group: Sequence[Line], text: str, height: float, body: float) -> bool:
    if len(group) > 2 or len(text) > HEADING_MAX_CHARS or not any(c.isalpha() for c in text):
        return False
    if height >= HEADING_RATIO * body:
        return True
    words = text.split()
    return (
        len(group) == 1
        and TITLE_CASE_WORDS[0] <= len(words) <= TITLE_CASE_WORDS[1]
        and not text.endswith((".", ",", ";", ":"))
        and all(w[0].isupper() for w in words if len(w) > 3 and w[0].isalpha())
        and words[0][0].isupper()
    )


def _mostly_text(part: _Part, lines: Sequence[Line]) -> bool:
    """A "figure" whose area is largely covered by lines of text (a table with ruled
    lines, a form) rather than a picture with a few labels."""
    covered = sum(_area(block_box(b)) for b in part.blocks)
    return len(lines) >= FIGURE_TEXT_LINES and covered >= FIGURE_TEXT_SHARE * _area(part.box)


def _region_table(part: _Part, body: float, rules: Sequence[Box]) -> list[Paragraph]:
    """A table region read by `region_tables` with the rules inside it; blocks the ruled
    grid leaves out (a sidebar under the region's box) are paragraphs of their own,
    before the table."""
    near = 0.05 * max(part.box[2] - part.box[0], part.box[3] - part.box[1])
    inside = [r for r in rules if _share_inside(r, (part.box[0] - near, part.box[1] - near,
                                                    part.box[2] + near, part.box[3] + near)) > 0.9]
    grid = read_table(part.blocks, inside)
    found: list[Paragraph] = []
    for row in strips(list(grid.outside), block_box, 1):  # a sidebar: names, details
        for column in strips(row, block_box, 0):
            for group in group_paragraphs(group_lines(column)):
                blocks = [b for line in group for b in line.blocks]
                found += _paragraphs(
                    _Part("text", _union([block_box(b) for b in blocks]), blocks), body)
    if grid.rows:
        left_out = {id(b) for b in grid.outside}
        held = [b for b in part.blocks if id(b) not in left_out]
        lines = group_lines(held)
        found.append(Paragraph("table", "\n".join(line.text for line in lines),
                               grid.box or part.box, tuple(lines), body, rows=grid.rows,
                               merges=grid.merges, widths=grid.widths))
    return found


def _paragraphs(part: _Part, body: float, rules: Sequence[Box] = ()) -> list[Paragraph]:
    lines = group_lines(part.blocks)
    if part.kind == "figure" and not part.loose and _mostly_text(part, lines):
        part = _Part("table", part.box, part.blocks)  # a ruled table the model took for a picture
    if part.kind == "table":
        text = "\n".join(line.text for line in lines)
        if part.table is not None:
            grid = tuple(tuple(row) for row in part.table.grid())
            merges = tuple((c.row, c.column, c.row_span, c.column_span)
                           for c in part.table.cells if c.row_span > 1 or c.column_span > 1)
            return [Paragraph("table", text, part.box, tuple(lines), body, rows=grid,
                              merges=merges)]
        return _region_table(part, body, rules)
    if part.kind == "figure":
        text = "\n".join(line.text for line in lines)
        return [Paragraph("figure", text, part.box, tuple(lines))]
    groups = [lines] if part.kind != "text" else split_paragraphs(lines)
    found = []
    for group in groups:
        height = median(_type_size(line) for line in group)
        text = join_lines([line.text for line in group])
        kind = part.kind
        if kind == "text" and _looks_like_heading(group, text, height, body):
            kind = "title"
        box = _union([block_box(b) for line in group for b in line.blocks])
        level = heading_level(height, body) if kind == "title" else 0
        found.append(Paragraph(kind, text, box, tuple(group), height, level))
    return found
