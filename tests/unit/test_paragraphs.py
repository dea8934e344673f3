"""Lines into paragraphs and paragraphs into text (pipeline/paragraphs.py), tables
(pipeline/region_tables.py), reading order (pipeline/page_order.py), running heads."""

from __future__ import annotations

from pipeline.layout import Line, group_lines
from pipeline.models import Block, DocumentResult, OcrResult, PageResult, Region, SourceObject
from pipeline.page_layout import page_layout
from pipeline.page_order import read_bands
from pipeline.paragraphs import join_lines, split_paragraphs
from pipeline.region_tables import table_rows
from pipeline.running_heads import document_layout


def block(text: str, x: int, y: int, w: int = 600, h: int = 30) -> Block:
    return Block.rect(text, x, y, w, h, 0.9)


def lines_of(*blocks: Block) -> list[Line]:
    return group_lines(blocks)


def test_hyphenated_words_are_rejoined_and_cjk_is_joined_without_spaces() -> None:
    assert join_lines(["the recog-", "nised text"]) == "the recognised text"
    assert join_lines(["a well-", "Known name"]) == "a well- Known name"  # not a split word
    assert join_lines(["the year 1990-", "1995"]) == "the year 1990- 1995"
    comma = "\uff0c"
    joined = join_lines(["常熟银行发布2023年", f"半年报{comma}上半年"])
    assert joined == f"常熟银行发布2023年半年报{comma}上半年"
    assert join_lines(["plain", "words"]) == "plain words"


def test_paragraphs_split_at_gaps_indents_short_lines_and_size_changes() -> None:
    leading = 40  # line pitch; 30 px lines, 10 px between them
    rows = [
        block("First paragraph opens here and runs", 100, 100),
        block("to the right edge of the column, and", 100, 100 + leading),
        block("ends short.", 100, 100 + 2 * leading, w=200),
        block("Second paragraph starts after a", 100, 100 + 3 * leading),
        block("short line ending a sentence.", 100, 100 + 4 * leading),
        block("Third one after a wide gap, set", 100, 100 + 6 * leading),
        block("as a block paragraph with no indent", 100, 100 + 7 * leading),
        block("Fourth: an indented first line", 160, 100 + 8 * leading, w=540),
        block("and its second line back at the edge", 100, 100 + 9 * leading),
        block("Fifth, in larger type", 100, 100 + 10 * leading, h=60),
    ]
    paragraphs = split_paragraphs(lines_of(*rows))
    assert [len(p) for p in paragraphs] == [3, 2, 2, 2, 1]


def test_a_column_of_even_lines_stays_one_paragraph() -> None:
    rows = [block(f"line {n} of a long paragraph that fills", 100, 100 + 40 * n) for n in range(8)]
    assert [len(p) for p in split_paragraphs(lines_of(*rows))] == [8]


def test_table_cells_from_row_and_column_bands() -> None:
    cells = [
        block("Name", 100, 100, w=120), block("Qty", 400, 100, w=60),
        block("Price", 600, 100, w=90),
        block("Bolt", 100, 150, w=80), block("12", 420, 152, w=40), block("0.30", 610, 149, w=70),
        block("Nut", 100, 200, w=60), block("7", 430, 198, w=20), block("0.10", 612, 201, w=70),
    ]
    assert table_rows(cells) == (("Name", "Qty", "Price"), ("Bolt", "12", "0.30"),
                                 ("Nut", "7", "0.10"))


def test_reading_order_keeps_two_columns_under_a_spanning_title() -> None:
    title = ("title", (100.0, 50.0, 1100.0, 120.0))
    left = [(f"L{n}", (100.0, 200.0 + 300 * n, 560.0, 450.0 + 300 * n)) for n in range(3)]
    right = [(f"R{n}", (640.0, 200.0 + 300 * n, 1100.0, 450.0 + 300 * n)) for n in range(3)]
    footer = ("wide", (100.0, 1200.0, 1100.0, 1300.0))
    bands = read_bands([*right, footer, title, *left], lambda item: item[1], 1400)
    assert [[[name for name, _ in column] for column in band] for band in bands] == [
        [["title"]], [["L0", "L1", "L2"], ["R0", "R1", "R2"]], [["wide"]],
    ]


def doc_of(*pages: tuple[tuple[Block, ...], tuple[Region, ...] | None]) -> DocumentResult:
    return DocumentResult(
        SourceObject("a.pdf", "/in/a.pdf", 1),
        tuple(PageResult(i, OcrResult(blocks, 1200, 1700), regions=regions)
              for i, (blocks, regions) in enumerate(pages)),
    )


def test_regions_give_kinds_and_title_levels() -> None:
    blocks = (
        block("A Chapter Title", 300, 100, w=600, h=80),
        *(block(f"prose line {n} running on", 100, 300 + 40 * n, w=1000) for n in range(4)),
        block("Fig. 1. A drawing.", 300, 1100, w=400),
        block("label inside the drawing", 400, 800, w=200, h=20),
    )
    regions = (
        Region("title", (290, 90, 910, 190)), Region("text", (90, 290, 1110, 460)),
        Region("figure", (300, 700, 900, 1080)), Region("figure_caption", (290, 1090, 710, 1140)),
    )
    layout = page_layout(doc_of((blocks, regions)).pages[0])
    kinds = [(p.kind, p.level) for p in layout.paragraphs]
    assert kinds == [("title", 1), ("text", 0), ("figure", 0), ("caption", 0)]
    assert layout.paragraphs[2].text == "label inside the drawing"  # kept out of the prose
    assert "Fig. 1" not in layout.paragraphs[1].text


def test_without_regions_a_large_short_line_is_a_heading() -> None:
    blocks = (block("Big Heading", 100, 100, w=500, h=70),
              *(block(f"body text line {n}", 100, 250 + 40 * n, w=1000) for n in range(5)))
    layout = page_layout(doc_of((blocks, None)).pages[0])
    assert [p.kind for p in layout.paragraphs] == ["title", "text"]


def test_running_heads_repeat_across_pages() -> None:
    def page(number: int) -> tuple[tuple[Block, ...], None]:
        return (
            block("Annual Report 2024", 100, 40, w=400),
            *(block(f"page {number} body line {n}", 100, 300 + 40 * n, w=1000) for n in range(6)),
            block(str(number + 1), 580, 1640, w=40),
        ), None

    layouts = document_layout(doc_of(page(0), page(1), page(2)))
    for layout in layouts:
        kinds = {p.text: p.kind for p in layout.paragraphs}
        assert kinds["Annual Report 2024"] == "header"
        assert kinds[str(layout.index + 1)] == "footer"
        assert list(kinds.values()).count("text") == 1


def test_a_figure_full_of_text_lines_is_read_as_a_table() -> None:
    grid = tuple(block(f"r{row}c{col}", 100 + 300 * col, 200 + 40 * row, w=200)
                 for row in range(8) for col in range(3))
    labels = (block("label", 150, 1250, w=100), block("another", 600, 1500, w=120))
    regions = (Region("figure", (90, 190, 1000, 520)), Region("figure", (90, 1200, 1000, 1600)))
    layout = page_layout(doc_of((grid + labels, regions)).pages[0])
    table, drawing = layout.paragraphs
    assert table.kind == "table" and len(table.rows) == 8 and len(table.rows[0]) == 3
    assert drawing.kind == "figure"  # two labels on a drawing stay a picture


def test_a_narrow_strip_is_no_column_of_its_own() -> None:
    strip = ("vertical", (10.0, 100.0, 60.0, 1300.0))  # a line of vertical text
    left = [(f"L{n}", (100.0, 100.0 + 300 * n, 560.0, 350.0 + 300 * n)) for n in range(4)]
    right = [(f"R{n}", (640.0, 100.0 + 300 * n, 1100.0, 350.0 + 300 * n)) for n in range(4)]
    bands = read_bands([strip, *left, *right], lambda item: item[1], 1400)
    assert [[[name for name, _ in column] for column in band] for band in bands] == [
        [["vertical", "L0", "L1", "L2", "L3"], ["R0", "R1", "R2", "R3"]],
    ]
