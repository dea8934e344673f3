"""Word (.docx): an editable document, one section per input page.

The page's paragraphs come from `pipeline.page_layout` (layout regions where the job
found them, `pipeline.running_heads` for running headers and footers): one Word paragraph
per paragraph, its lines joined (no line breaks), its font size from the line height;
titles in Heading styles (level from their text height, judged over the whole document:
`pipeline.heading_levels`), captions
in the Caption style, figures cropped from the page image (`page_image.py`, when the
original document is at hand) where they stand in reading order, tables as Word tables,
running headers and footers in the section's header and footer (or dropped), and a band
of two or more columns as a continuous section with that many columns. Each page of the
input starts a new section, sized and oriented like the page. East Asian text is given
an East Asian font (SimSun, as Word's Chinese defaults; LibreOffice substitutes an
installed CJK font), and with `low_confidence` set, blocks recognised below it are
highlighted in yellow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import BinaryIO

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Emu, Pt

from pipeline.models import DocumentResult, PageResult
from pipeline.page_image import upright_picture
from pipeline.page_layout import PageLayout
from pipeline.running_heads import document_layout
from pipeline.writers.docx_parts import (
    COLUMN_GAP,
    add_figure,
    add_table,
    add_text,
    column_break,
    column_extents,
    fill_header,
    new_section,
    set_columns,
)
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
    first_sections = []
    heads: list[tuple[list[str], list[str]]] = []
    for number, (page, layout) in enumerate(zip(doc.pages, document_layout(doc), strict=True)):
        section = document.sections[0] if number == 0 else new_section(
            document, WD_SECTION.NEW_PAGE)
        _size_section(section, page)
        _fit_margins(section, layout)
        first_sections.append(len(document.sections) - 1)
        heads.append(_write_page(document, page, layout, source_path, options))
    if not doc.pages:
        document.add_paragraph()
    if options.headers == "keep":  # set last: a new section takes the references along
        sections = document.sections
        for index, (header, footer) in zip(first_sections, heads, strict=True):
            fill_header(sections[index], header, footer)
    document.save(out)


def _write_page(
    document: DocxDocument, page: PageResult, layout: PageLayout, source_path: str | None,
    options: WriteOptions,
) -> tuple[list[str], list[str]]:
    """The page's body; returns its header and footer texts."""
    section = document.sections[-1]
    assert section.page_width is not None
    assert section.left_margin is not None and section.right_margin is not None
    points_per_pixel = section.page_width.pt / max(layout.width, 1)
    text_width = int(section.page_width - section.left_margin - section.right_margin)
    picture = None
    if source_path and any(p.kind == "figure" for p in layout.paragraphs):
        picture = upright_picture(source_path, page, options.pdf_password)
    header: list[str] = []
    footer: list[str] = []
    written = 0
    band, column = -1, 0
    extents = column_extents(layout.paragraphs)
    for paragraph in layout.paragraphs:
        if paragraph.kind in ("header", "footer"):
            (header if paragraph.kind == "header" else footer).append(paragraph.text)
            continue
        if paragraph.band != band:
            stood = extents.get(paragraph.band, [])
            if not written:  # the page's own section, nothing in it yet
                set_columns(document.sections[-1], paragraph.columns, stood, text_width)
            elif paragraph.columns > 1 or _columns_of(document) > 1:
                set_columns(new_section(document, WD_SECTION.CONTINUOUS), paragraph.columns,
                            stood, text_width)
            band, column = paragraph.band, 0
        elif paragraph.column != column:
            column_break(document)
            column = paragraph.column
        column_width = (text_width - (paragraph.columns - 1) * COLUMN_GAP) // paragraph.columns
        if paragraph.kind == "figure":
            add_figure(document, paragraph, picture, points_per_pixel, column_width)
        elif paragraph.kind == "table":
            add_table(document, paragraph, points_per_pixel, column_width)
        else:
            add_text(document, paragraph, points_per_pixel, options.low_confidence)
        written += 1
    if _columns_of(document) > 1:
        set_columns(new_section(document, WD_SECTION.CONTINUOUS), 1)
    if not written:
        document.add_paragraph()  # an empty page still has its (empty) paragraph
    return header, footer


def _fit_margins(section: Section, layout: PageLayout) -> None:
    """Margins where the page's text begins and ends (within 0.3 inch and a quarter of
    the page), so lines break about where they did."""
    body = [p.box for p in layout.paragraphs if p.kind not in ("header", "footer")]
    if not body or section.page_width is None or section.page_height is None:
        return
    width, height = section.page_width, section.page_height
    scale = width / max(layout.width, 1)
    left, top = min(b[0] for b in body), min(b[1] for b in body)
    right, bottom = layout.width - max(b[2] for b in body), layout.height - max(b[3] for b in body)
    for side, pixels, extent in (("left_margin", left, width), ("right_margin", right, width),
                                 ("top_margin", top, height), ("bottom_margin", bottom, height)):
        setattr(section, side, Emu(int(max(Pt(22), min(extent / 4, pixels * scale * 0.9)))))


def _columns_of(document: DocxDocument) -> int:
    cols = document.sections[-1]._sectPr.find(qn("w:cols"))
    return int(cols.get(qn("w:num"), "1")) if cols is not None else 1


def _set_fonts(document: DocxDocument) -> None:
    style = document.styles["Normal"]
    style.font.name = LATIN_FONT
    style.font.size = Pt(11)
    style.paragraph_format.space_after = Pt(4)
    style.paragraph_format.line_spacing = 1.0
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


