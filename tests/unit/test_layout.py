from pipeline.layout import group_lines, group_paragraphs, page_text
from pipeline.models import Block, DocumentResult, OcrResult, PageResult, SourceObject
from pipeline.writers import WRITERS, WriteOptions


def box(x: int, y: int, w: int, h: int) -> Block:
    return Block.rect(f"{x},{y}", x, y, w, h, 0.9)


def named(text: str, x: int, y: int, w: int = 100, h: int = 20) -> Block:
    b = box(x, y, w, h)
    return Block(text, b.box, b.confidence)


def test_blocks_on_one_line_read_left_to_right() -> None:
    blocks = [named("world", 300, 102), named("hello", 10, 100), named("next", 10, 130)]
    lines = group_lines(blocks)
    assert [line.text for line in lines] == ["hello world", "next"]


def test_paragraph_gap_splits() -> None:
    blocks = [named("a", 10, 100), named("b", 10, 125), named("c", 10, 300)]
    paragraphs = group_paragraphs(group_lines(blocks))
    assert [[line.text for line in p] for p in paragraphs] == [["a", "b"], ["c"]]
    assert page_text(blocks) == "a\nb\n\nc"


def test_empty_page_is_empty_text() -> None:
    assert page_text([]) == ""


def test_txt_separates_pages_with_form_feed() -> None:
    source = SourceObject("doc.pdf", "/x/doc.pdf", 1)
    pages = tuple(
        PageResult(i, OcrResult((named(f"page {i + 1}", 10, 10),), 100, 100)) for i in range(3)
    )
    text = WRITERS["txt"].render(DocumentResult(source, pages), None, WriteOptions())
    assert text == b"page 1\fpage 2\fpage 3\n"


def test_two_columns_read_one_after_the_other() -> None:
    title = named("Title across both columns", 10, 0, w=980, h=30)
    left = [named(f"left {i}", 10, 50 + 30 * i, w=450) for i in range(5)]
    right = [named(f"right {i}", 520, 50 + 30 * i, w=460) for i in range(5)]
    footer = named("Footer across the page", 10, 300, w=980, h=20)
    lines = [line.text for line in group_lines([footer, *right, title, *left])]
    assert lines == [
        "Title across both columns",
        *(f"left {i}" for i in range(5)),
        *(f"right {i}" for i in range(5)),
        "Footer across the page",
    ]


def test_table_rows_are_not_split_into_columns() -> None:
    labels = [named(f"label{i}", 10, 50 + 30 * i, w=60 + 40 * (i % 3)) for i in range(6)]
    values = [named(f"{i}.00", 700, 50 + 30 * i, w=60) for i in range(6)]
    lines = [line.text for line in group_lines(labels + values)]
    assert lines == [f"label{i} {i}.00" for i in range(6)]
