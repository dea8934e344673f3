"""Word (.docx): the text in reading order, one section per input page.

Paragraphs and lines come from `pipeline.layout` (the same grouping as the TXT output):
a paragraph per group of lines, a line break between its lines, so the text python-docx
reads back equals the TXT output page by page. Each page of the input starts a new
section, sized and oriented like the page. East Asian text is given an East Asian
font (SimSun, as Word's Chinese defaults; LibreOffice substitutes an installed CJK font),
and with `low_confidence` set, blocks recognised below it are highlighted in yellow.
Tables that general-table or smart-document-recognizer found are Word tables, in their
place in the reading order (`pipeline.tables`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import BinaryIO

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Emu, Pt
from docx.text.paragraph import Paragraph

from pipeline.layout import Line
from pipeline.models import DocumentResult, PageResult
from pipeline.tables import Table, page_flow
from pipeline.writers.docx_table import add_table
from pipeline.writers.options import WriteOptions

EAST_ASIAN_FONT = "SimSun"
LATIN_FONT = "Calibri"
A4 = (Pt(595.3), Pt(841.9))
MAX_PAGE_SIDE = Pt(22 * 72)
"""Word's largest page side (22 inches)."""
MIN_PAGE_SIDE = Pt(72)


def write_docx(
    doc: DocumentResult, source_path: str | None, options: WriteOptions, out: BinaryIO
) -> None:
    document = Document()
    _set_fonts(document)
    _set_properties(document, doc)
    for number, page in enumerate(doc.pages):
        section = document.sections[0] if number == 0 else _new_section(document)
        _size_section(section, page)
        flow = page_flow(page.result)  # upright page's order, tables in their places
        if not flow:
            document.add_paragraph()  # an empty page still has its (empty) paragraph
        for item in flow:
            if isinstance(item, Table):
                add_table(document, item)
            else:
                _add_paragraph(document.add_paragraph(), item, options.low_confidence)
    if not doc.pages:
        document.add_paragraph()
    document.save(out)


def _new_section(document: DocxDocument) -> Section:
    """A section on a new page. python-docx ends the previous section with an extra empty
    paragraph that holds its properties; they move into the page's last paragraph
    instead, so no blank paragraph is added between pages."""
    section: Section = document.add_section(WD_SECTION.NEW_PAGE)
    breaker = document.element.body.findall(qn("w:p"))[-1]
    previous = breaker.getprevious()
    properties = breaker.find(f"{qn('w:pPr')}/{qn('w:sectPr')}")
    if (
        properties is not None
        and previous is not None
        and previous.tag == qn("w:p")
        and previous.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is None
    ):
        previous.get_or_add_pPr().append(properties)
        breaker.getparent().remove(breaker)
    return section


def _set_fonts(document: DocxDocument) -> None:
    style = document.styles["Normal"]
    style.font.name = LATIN_FONT
    style.font.size = Pt(11)
    rpr = style.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), EAST_ASIAN_FONT)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = rpr.makeelement(qn("w:lang"), {})
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _set_properties(document: DocxDocument, doc: DocumentResult) -> None:
    props = document.core_properties
    name = PurePosixPath(doc.source.key).name
    props.title = name
    props.subject = "OCR text"
    props.identifier = doc.source.key
    props.comments = f"source: {doc.source.key}; pages: {len(doc.pages)}; made by ocrpipe"
    props.keywords = f"ocr; pages={len(doc.pages)}"
    props.author = "ocrpipe"
    props.last_modified_by = "ocrpipe"
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    props.created = now
    props.modified = now
    props.revision = 1


def _size_section(section: Section, page: PageResult) -> None:
    """The section's page like the input page: its size when the DPI is known, else A4
    in the page's orientation."""
    geometry = page.geometry
    width_px = geometry.source_width if geometry else page.result.width
    height_px = geometry.source_height if geometry else page.result.height
    landscape = width_px > height_px
    width: int
    height: int
    if geometry is not None and geometry.dpi:
        width, height = (
            max(MIN_PAGE_SIDE, min(MAX_PAGE_SIDE, int(Pt(72) * side / geometry.dpi)))
            for side in (geometry.source_width, geometry.source_height)
        )
    else:
        width, height = (A4[1], A4[0]) if landscape else A4
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Emu(width), Emu(height)
    margin = Emu(int(min(width, height) * 0.08))
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, margin)


def _add_paragraph(paragraph: Paragraph, lines: list[Line], low: float | None) -> None:
    for number, line in enumerate(lines):
        if number:
            paragraph.add_run().add_break()
        words = [b for b in line.blocks if b.text.strip()]
        for position, block in enumerate(words):
            if position:
                paragraph.add_run(" ")
            run = paragraph.add_run(block.text.strip())
            if low is not None and block.confidence < low:
                run.font.highlight_color = WD_COLOR_INDEX.YELLOW
