"""Markdown (.md): headings, paragraphs, pipe tables and figure references, for search
indexes and language models.

The page's paragraphs are `pipeline.page_layout`'s (the Word output's, in the same order):
a title is `#` to `###` by its level, a caption is italic, a table is a pipe table (its
first row as the header row), a figure is an image reference `![caption](#figure-P-N)`
named by page and number (the picture itself is in the Word output), running headers
and footers are left out unless `headers = "keep"`, where they come as HTML comments.
Pages are separated by a horizontal rule.
"""

from __future__ import annotations

from typing import BinaryIO

from pipeline.models import DocumentResult
from pipeline.page_layout import PageLayout, Paragraph
from pipeline.running_heads import document_layout
from pipeline.writers.options import WriteOptions

_ESCAPED = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|"})


def escape(text: str) -> str:
    """Text as Markdown shows it literally (no emphasis, links or tables by accident)."""
    return " ".join(text.split()).translate(_ESCAPED)


def write_markdown(doc: DocumentResult, options: WriteOptions, out: BinaryIO) -> None:
    pages = [page_markdown(layout, options) for layout in document_layout(doc)]
    out.write(("\n\n---\n\n".join(p for p in pages) + "\n").encode("utf-8"))


def page_markdown(layout: PageLayout, options: WriteOptions) -> str:
    blocks: list[str] = []
    figures = 0
    paragraphs = layout.paragraphs
    for number, paragraph in enumerate(paragraphs):
        if paragraph.kind in ("header", "footer"):
            if options.headers == "keep":
                blocks.append(f"<!-- {paragraph.kind}: {_comment(paragraph.text)} -->")
        elif paragraph.kind == "title":
            blocks.append("#" * max(1, min(paragraph.level, 3)) + " " + escape(paragraph.text))
        elif paragraph.kind == "caption":
            blocks.append(f"*{escape(paragraph.text)}*")
        elif paragraph.kind == "table":
            blocks.append(pipe_table(paragraph.rows))
        elif paragraph.kind == "figure":
            figures += 1
            blocks.append(_figure(paragraph, _caption_near(paragraphs, number), layout, figures))
        elif paragraph.text:
            blocks.append(escape(paragraph.text))
    return "\n\n".join(b for b in blocks if b)


def pipe_table(rows: tuple[tuple[str, ...], ...]) -> str:
    if not rows or not rows[0]:
        return ""
    width = len(rows[0])
    lines = ["| " + " | ".join(escape(c) for c in rows[0]) + " |",
             "|" + "---|" * width]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def _figure(paragraph: Paragraph, caption: str, layout: PageLayout, number: int) -> str:
    alt = caption or f"Figure {number} of page {layout.index + 1}"
    return f"![{escape(alt)}](#figure-{layout.index + 1}-{number})"


def _caption_near(paragraphs: tuple[Paragraph, ...], index: int) -> str:
    """The caption just after (or else just before) the figure, if any."""
    for near in (index + 1, index - 1):
        if 0 <= near < len(paragraphs) and paragraphs[near].kind == "caption":
            return paragraphs[near].text
    return ""


def _comment(text: str) -> str:
    return " ".join(text.split()).replace("--", "- -")
