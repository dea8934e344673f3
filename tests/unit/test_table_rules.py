"""Ruled lines found in a page image (pipeline/table_rules.py) and read as a table's
rows and columns (pipeline/region_tables.py): synthetic tables drawn with Pillow."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.models import Block, OcrResult, PageResult, Region
from pipeline.page_layout import page_layout
from pipeline.region_tables import Box, read_table
from pipeline.table_rules import find_rules

FONT = ImageFont.load_default(size=28)


def block(text: str, left: int, top: int, right: int, bottom: int) -> Block:
    return Block(text, ((left, top), (right, top), (right, bottom), (left, bottom)), 0.9)


def draw_table(draw: ImageDraw.ImageDraw, left: int, top: int, columns: list[int],
               rows: int, pitch: int, verticals: bool = True) -> None:
    """A grid: a horizontal rule above every row and below the last, vertical rules at
    `columns` (x of each column's left edge, then the right edge) when `verticals`."""
    right = columns[-1]
    for n in range(rows + 1):
        draw.line((left, top + n * pitch, right, top + n * pitch), fill=0, width=2)
    if verticals:
        for x in columns:
            draw.line((x, top, x, top + rows * pitch), fill=0, width=2)


def test_rules_of_a_drawn_grid_are_found_and_its_text_is_not_a_rule() -> None:
    image = Image.new("L", (1200, 900), 255)
    draw = ImageDraw.Draw(image)
    columns = [100, 400, 700, 1000]
    draw_table(draw, 100, 200, columns, rows=4, pitch=60)
    for row in range(4):
        for column in range(3):
            draw.text((columns[column] + 12, 214 + 60 * row), f"Mmmmmmmmm {row}{column}",
                      fill=0, font=FONT)
    # a dashed rule under a heading above the table, inside the region's margin
    for x in range(100, 1000, 8):
        draw.line((x, 150, x + 4, 150), fill=0, width=2)
    rules = find_rules(np.asarray(image), [Region("table", (100, 160, 1000, 440))])
    across = sorted(r.box[1] for r in rules if r.box[2] - r.box[0] > r.box[3] - r.box[1])
    down = sorted(r.box[0] for r in rules if r.box[3] - r.box[1] > r.box[2] - r.box[0])
    assert [round(y / 10) for y in across] == [15, 20, 26, 32, 38, 44]
    assert [round(x / 10) for x in down] == [10, 40, 70, 100]
    assert all(r.kind == "rule" for r in rules)
    assert find_rules(np.asarray(image), [Region("text", (100, 160, 1000, 440))]) == ()


def rule_boxes(image: Image.Image, region: tuple[int, int, int, int]) -> list[Box]:
    found = find_rules(np.asarray(image), [Region("table", region)])
    return [(float(a), float(b), float(c), float(d)) for a, b, c, d in (r.box for r in found)]


def test_a_row_read_as_one_box_is_cut_at_the_column_rules() -> None:
    image = Image.new("L", (1000, 500), 255)
    draw_table(ImageDraw.Draw(image), 100, 100, [100, 300, 900], rows=3, pitch=50)
    rules = rule_boxes(image, (100, 100, 900, 250))
    blocks = [
        block("Code Meaning", 110, 110, 560, 140),  # one OCR box over both columns
        block("ADIR", 110, 160, 200, 190), block("Area of influence rank", 310, 160, 640, 190),
        block("MDHINC Median household income", 110, 210, 760, 240),
    ]
    grid = read_table(blocks, rules)
    assert grid.rows == (("Code", "Meaning"), ("ADIR", "Area of influence rank"),
                         ("MDHINC", "Median household income"))
    assert [round(w / 10) for w in grid.widths] == [20, 60]  # the ruled columns' widths
    assert grid.outside == ()


def test_a_region_over_a_sidebar_keeps_the_ruled_grid_and_gives_the_rest_back() -> None:
    """Only horizontal rules, as a report's table: the grid spans 500..1100; a sidebar's
    lines at 100..400 lie in the layout model's region but are no cells."""
    image = Image.new("L", (1200, 600), 255)
    draw_table(ImageDraw.Draw(image), 500, 100, [500, 1100], rows=3, pitch=50,
               verticals=False)
    rules = rule_boxes(image, (80, 90, 1110, 260))
    cells = [
        block("2021A", 800, 110, 880, 140), block("2022A", 980, 110, 1060, 140),
        block("Revenue", 510, 160, 640, 190), block("7,655", 810, 160, 880, 190),
        block("8,809", 990, 160, 1060, 190),
        block("ROE(%)", 510, 210, 620, 240), block("11.6", 830, 210, 880, 240),
        block("13.2", 1010, 210, 1060, 240),
    ]
    sidebar = [block("Research assistant", 100, 120, 380, 150),
               block("someone@example.com", 100, 170, 400, 200)]
    grid = read_table(cells + sidebar, rules)
    assert grid.rows == (("", "2021A", "2022A"), ("Revenue", "7,655", "8,809"),
                         ("ROE(%)", "11.6", "13.2"))
    assert set(grid.outside) == set(sidebar)
    assert grid.box is not None and grid.box[0] >= 495 and grid.box[2] <= 1105


def test_a_rule_keeps_two_overlapping_rows_apart() -> None:
    """Tight rows whose boxes overlap by more than half: the rule between them parts
    them (without it they would be one row)."""
    blocks = [block("a", 100, 100, 150, 140), block("b", 300, 100, 350, 140),
              block("c", 100, 118, 150, 158), block("d", 300, 118, 350, 158)]
    assert len(read_table(blocks).rows) == 1
    rule = (90.0, 128.0, 400.0, 130.0), (90.0, 90.0, 400.0, 92.0), (90.0, 168.0, 400.0, 170.0)
    assert read_table(blocks, rule).rows == (("a", "b"), ("c", "d"))


def test_page_layout_reads_rules_from_the_page_regions() -> None:
    """Rules travel as regions of kind "rule"; the table paragraph gets the ruled
    columns' widths and the sidebar comes back as a paragraph of text before it."""
    image = Image.new("L", (1200, 600), 255)
    draw_table(ImageDraw.Draw(image), 500, 100, [500, 700, 1100], rows=2, pitch=50)
    regions = (Region("table", (80, 90, 1110, 210)),
               *find_rules(np.asarray(image), [Region("table", (80, 90, 1110, 210))]))
    blocks = (block("Item Amount", 510, 110, 900, 140), block("Bolt 12", 510, 160, 760, 190),
              block("Sidebar note", 100, 120, 380, 150))
    result = OcrResult(blocks, 1200, 600)
    layout = page_layout(PageResult(0, result, regions=regions))
    kinds = [(p.kind, p.text) for p in layout.paragraphs]
    assert kinds[0] == ("text", "Sidebar note")
    table = layout.paragraphs[1]
    assert table.kind == "table" and table.rows == (("Item", "Amount"), ("Bolt", "12"))
    assert [round(w / 10) for w in table.widths] == [20, 40]


def test_a_heading_row_read_as_one_box_is_cut_over_the_columns_below() -> None:
    """No rules: "Number Debits Balance" is one OCR box over three columns of figures."""
    rows = [block("Date", 100, 100, 160, 130), block("Number Debits Balance", 300, 100, 760, 130)]
    for n in range(3):
        y = 150 + 40 * n
        rows += [block(f"0{n}Aug", 100, y, 180, y + 30), block(f"49{n}", 310, y, 370, y + 30),
                 block(f"{n}.50", 480, y, 560, y + 30), block(f"1{n}.00", 660, y, 750, y + 30)]
    grid = read_table(rows)
    assert grid.rows[0] == ("Date", "Number", "Debits", "Balance")
    assert grid.rows[1] == ("00Aug", "490", "0.50", "10.00")
    assert len(grid.widths) == 4


def test_a_white_gutter_parts_columns_and_a_heading_across_it_stays_whole() -> None:
    """No rules between the columns: names on the left, definitions on the right, the
    OCR reading most rows as one box; a section heading runs across the gutter."""
    image = Image.new("L", (1400, 900), 255)
    draw = ImageDraw.Draw(image)
    draw_table(draw, 100, 100, [100, 1300], rows=1, pitch=20, verticals=False)
    draw.text((110, 130), "Demographic variables", fill=0, font=FONT)  # crosses the gutter
    names = ["ADIR", "MDHINC", "PERPHH", "POPDEN", "SIZE"]
    for n, name in enumerate(names):
        y = 180 + 50 * n
        draw.text((130, y), name, fill=0, font=FONT)
        draw.text((520, y), f"Definition number {n} of the variable", fill=0, font=FONT)
    region = (100, 95, 1300, 440)
    rules = rule_boxes(image, region)
    gutters = [r for r in rules if r[3] - r[1] > r[2] - r[0]]
    assert gutters and all(300 < r[0] < 520 for r in gutters)
    assert all(not (r[1] <= 145 <= r[3]) for r in gutters)  # broken at the heading
    blocks = [block("Demographic variables", 110, 128, 480, 160),
              block("strength of the market", 520, 428, 900, 458)]  # about 17 px a letter
    blocks += [block(f"{name} Definition number {n} of the variable", 130, 178 + 50 * n,
                     1000, 208 + 50 * n) for n, name in enumerate(names)]
    grid = read_table(blocks, rules)
    assert grid.rows[0] == ("Demographic variables", "")
    assert grid.merges == ((0, 0, 1, 2),)  # one cell across both columns
    longer = read_table([block("Price-quantity-channel variables", 300, 128, 800, 160),
                         *blocks[1:]], rules)  # most of it right of the gutter
    assert longer.rows[0] == ("Price-quantity-channel variables", "")
    assert longer.merges == ((0, 0, 1, 2),)
    assert [row[0] for row in grid.rows[1:-1]] == names
    assert grid.rows[1][1] == "Definition number 0 of the variable"
    assert grid.rows[-1] == ("", "strength of the market")
