"""Word columns and table columns as wide as they stood on the page
(pipeline/writers/docx_parts.py): `w:cols` with a `w:col` each, fixed table grids."""

from __future__ import annotations

import io

from docx import Document
from docx.oxml.ns import qn

from pipeline.models import (
    Block,
    DocumentResult,
    OcrResult,
    PageGeometry,
    PageResult,
    Region,
    SourceObject,
)
from pipeline.writers import WRITERS, WriteOptions

WIDTH, HEIGHT = 1240, 1754


def block(text: str, x: int, y: int, w: int, h: int = 28) -> Block:
    return Block.rect(text, x, y, w, h, 0.9)


def page() -> PageResult:
    """A narrow left column (100..400), a wide right one (480..1140), and a table below
    whose first column is five times as wide as its second."""
    narrow = [block(f"narrow {n} words here", 100, 300 + 36 * n, 300) for n in range(10)]
    wide = [block(f"the wide column's line {n} of prose that runs on", 480, 300 + 36 * n, 660)
            for n in range(10)]
    table = [block("Item", 100, 1400, 100), block("Count", 700, 1400, 120),
             block("Bolts", 100, 1450, 110), block("12", 700, 1450, 40)]
    regions = (Region("text", (95, 295, 405, 670)), Region("text", (475, 295, 1145, 670)),
               Region("table", (90, 1390, 830, 1490)))
    return PageResult(0, OcrResult((*narrow, *wide, *table), WIDTH, HEIGHT),
                      PageGeometry(WIDTH, HEIGHT, WIDTH, HEIGHT, 150.0), regions)


def test_columns_and_table_columns_keep_their_widths() -> None:
    doc = DocumentResult(SourceObject("a.png", "/in/a.png", 1), (page(),))
    document = Document(io.BytesIO(WRITERS["docx"].render(doc, None, WriteOptions())))
    cols = [c for c in document.element.body.iter(qn("w:cols")) if c.get(qn("w:num")) == "2"]
    assert len(cols) == 1
    assert cols[0].get(qn("w:equalWidth")) == "0"
    (left, gap, _), (right, _, _) = (
        (int(c.get(qn("w:w"))), int(c.get(qn("w:space"), "0")), c) for c in cols[0])
    assert abs(right / left - 660 / 300) < 0.05  # as wide as they stood
    assert abs(gap / left - 80 / 300) < 0.05
    section = document.sections[0]
    assert section.page_width and section.left_margin and section.right_margin
    text_width = (section.page_width - section.left_margin - section.right_margin) / 635  # twips
    assert abs(left + gap + right - text_width) <= 3  # the text width, shared out
    grid = [int(g.get(qn("w:w"))) for g in document.tables[0]._tbl.tblGrid.iter(qn("w:gridCol"))]
    assert abs(grid[0] / grid[1] - 600 / 120) < 0.05  # from one column's start to the next
    assert document.tables[0].cell(0, 0).width == document.tables[0].columns[0].width


def test_an_equal_width_section_has_no_col_elements() -> None:
    """A page of one column: `w:cols` (when written) holds no `w:col` children."""
    lines = tuple(block(f"line {n} of one column", 100, 300 + 36 * n, 900) for n in range(6))
    region = Region("text", (95, 295, 1005, 520))
    one = PageResult(0, OcrResult(lines, WIDTH, HEIGHT), None, (region,))
    doc = DocumentResult(SourceObject("b.png", "/in/b.png", 1), (one,))
    document = Document(io.BytesIO(WRITERS["docx"].render(doc, None, WriteOptions())))
    assert not list(document.element.body.iter(qn("w:col")))
