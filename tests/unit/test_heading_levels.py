"""Heading levels judged over the whole document (pipeline/heading_levels.py): a
chapter title is Heading 1 and section titles Heading 2 on every page, also on a page
whose only title is a section title; Word and Markdown agree."""

from __future__ import annotations

from pipeline.heading_levels import size_levels
from pipeline.models import (
    Block,
    DocumentResult,
    OcrResult,
    PageGeometry,
    PageResult,
    Region,
    SourceObject,
)
from pipeline.running_heads import document_layout
from pipeline.writers import WRITERS, WriteOptions
from tests.support.docx_structure import read_docx

WIDTH, HEIGHT = 1240, 1754
BODY, SECTION, CHAPTER = 28, 44, 70
"""Line heights in pixels at 150 dpi: 10, 16 and 25 points of text."""


def block(text: str, y: int, h: int, x: int = 100, w: int = 900, scale: int = 1) -> Block:
    x, y, w, h = x * scale, y * scale, w * scale, h * scale
    return Block.rect(text, x, y, w, h, 0.95)


def page(index: int, titles: list[tuple[str, int]], scale: int = 1, body: int = BODY,
         ) -> PageResult:
    """A page with `titles` (text, height) from the top, then body text below them."""
    blocks, regions, y = [], [], 250  # below the top edge (a masthead there)
    for text, height in titles:
        blocks.append(block(text, y, height, w=600, scale=scale))
        regions.append(Region("title", (90 * scale, (y - 8) * scale, 710 * scale,
                                        (y + height + 8) * scale)))
        y += height + 40
    top = y
    for n in range(8):
        blocks.append(block(f"page {index + 1} body text line {n} that runs across", y, body,
                            scale=scale))
        y += body + 12
    regions.append(Region("text", (90 * scale, (top - 8) * scale, 1010 * scale, y * scale)))
    return PageResult(
        index, OcrResult(tuple(blocks), WIDTH * scale, HEIGHT * scale),
        PageGeometry(WIDTH * scale, HEIGHT * scale, WIDTH * scale, HEIGHT * scale,
                     150.0 * scale),
        tuple(regions),
    )


def report() -> DocumentResult:
    """Page 1: the chapter title and a section title; page 2: one section title only,
    over small print (judged on that page alone, twice its body's height: Heading 1);
    page 3: a section title rendered at twice the resolution (twice the pixels)."""
    pages = (
        page(0, [("Chapter One Results", CHAPTER), ("Sales By Region", SECTION)]),
        page(1, [("Costs And Margins", SECTION)], body=20),
        page(2, [("Outlook For Next Year", SECTION)], scale=2),
    )
    return DocumentResult(SourceObject("report.pdf", "/in/report.pdf", 1), pages)


def test_levels_agree_across_pages() -> None:
    levels = {p.text: p.level for layout in document_layout(report())
              for p in layout.paragraphs if p.kind == "title"}
    assert levels == {"Chapter One Results": 1, "Sales By Region": 2,
                      "Costs And Margins": 2, "Outlook For Next Year": 2}


def test_word_and_markdown_write_the_document_levels() -> None:
    doc = report()
    styles = dict((text, style) for style, text in
                  read_docx(WRITERS["docx"].render(doc, None, WriteOptions())).paragraphs)
    assert styles["Chapter One Results"] == "Heading 1"
    assert styles["Costs And Margins"] == styles["Outlook For Next Year"] == "Heading 2"
    markdown = WRITERS["md"].render(doc, None, WriteOptions()).decode()
    assert "\n# Chapter One Results\n" in "\n" + markdown
    assert "## Costs And Margins\n" in markdown and "## Outlook For Next Year\n" in markdown
    assert "# Costs And Margins" not in markdown.replace("## Costs", "")


def test_a_lone_page_keeps_level_one_for_its_largest_title() -> None:
    doc = DocumentResult(SourceObject("memo.png", "/in/memo.png", 1),
                         (page(0, [("A Short Memo", SECTION)]),))
    [layout] = document_layout(doc)
    assert (layout.paragraphs[0].kind, layout.paragraphs[0].level) == ("title", 1)


def test_sizes_cluster_and_body_sized_titles_rank_last() -> None:
    # 25-point chapters, 16-17 point sections (one size), run-in headings at body size
    levels = size_levels([25.0, 16.0, 17.0, 10.5, 25.5], body=10.0)
    assert levels == {25.5: 1, 25.0: 1, 17.0: 2, 16.0: 2, 10.5: 3}
    assert size_levels([10.5, 10.2], body=10.0) == {10.5: 1, 10.2: 1}  # nothing larger
    assert size_levels([40.0, 30.0, 20.0, 14.0], body=10.0)[14.0] == 3  # at most 3
    assert size_levels([20.0], body=None) == {20.0: 1}
