"""Plain text: one page after another, separated by a form feed (as pdftotext does).

By default one line per OCR line, a blank line between paragraphs. With layout regions,
the paragraphs and their order are `pipeline.page_layout`'s (the Word output's); with
`txt_lines = false` each paragraph is one line, its lines joined (hyphenated words
rejoined, CJK without spaces) and a table's cells separated by tabs.
"""

from __future__ import annotations

from typing import BinaryIO

from pipeline.layout import lines_text
from pipeline.models import DocumentResult
from pipeline.page_layout import PageLayout, Paragraph
from pipeline.running_heads import document_layout
from pipeline.upright import reading_lines
from pipeline.writers.options import WriteOptions


def write_txt(doc: DocumentResult, out: BinaryIO, options: WriteOptions | None = None) -> None:
    reflow = options is not None and not options.txt_lines
    with_layout = reflow or any(page.regions for page in doc.pages)
    layouts = document_layout(doc) if with_layout else None
    for number, page in enumerate(doc.pages):
        if number:
            out.write(b"\f")
        if layouts is None:
            text = lines_text(reading_lines(page.result))
        else:
            text = layout_text(layouts[number], reflow)
        out.write(text.encode("utf-8"))
    out.write(b"\n")


def layout_text(layout: PageLayout, reflow: bool) -> str:
    return "\n\n".join(t for t in (_text(p, reflow) for p in layout.paragraphs) if t)


def _text(paragraph: Paragraph, reflow: bool) -> str:
    if not reflow:
        return "\n".join(line.text for line in paragraph.lines)
    if paragraph.kind == "table":
        return "\n".join("\t".join(row) for row in paragraph.rows)
    return paragraph.text.replace("\n", " ")
