"""The pieces of an editable Word document: sections and columns, headings, paragraphs
with their font size, figures cropped from the page, captions, tables, headers.

`pipeline/writers/docx.py` walks the pages and calls these; each takes the python-docx
document and one `Paragraph` of `pipeline.page_layout`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION
from docx.enum.text import WD_BREAK, WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Emu, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph as DocxParagraph
from PIL import Image

from pipeline.page_layout import Paragraph
from pipeline.paragraphs import joint

LINE_TO_FONT = 0.72
"""Font size / height of an OCR line box (boxes hold ascenders and descenders)."""
MIN_FONT, MAX_FONT = 6.0, 36.0
HEADING_MAX = 3
FIGURE_PAD = 0.01
"""Figures are cropped this share of the page's width beyond their box."""
COLUMN_GAP = Pt(425 / 20)
"""Between the columns of a section (425 twentieths of a point: 0.75 cm)."""
MIN_COLUMN_GAP = 144
"""Twentieths of a point between columns of their real widths, at least (0.25 cm)."""


def new_section(document: DocxDocument, start: WD_SECTION) -> Section:
    """A new section. python-docx ends the previous one with an extra empty paragraph that
    holds its properties; they move into the last paragraph instead, so no blank
    paragraph is added (a table before it keeps the empty paragraph: Word needs one)."""
    section: Section = document.add_section(start)
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


def set_columns(section: Section, count: int, extents: Sequence[tuple[float, float]] = (),
                text_width: int = 0) -> None:
    """The section's columns: `count` of them, equal; or, given the columns' extents on
    the page (left, right, in pixels) and the section's text width, each as wide as it
    stood and the gaps between them too (`w:equalWidth="0"`, a `w:col` each)."""
    sectpr = section._sectPr
    cols = sectpr.find(qn("w:cols"))
    if cols is None:
        cols = sectpr.makeelement(qn("w:cols"), {})
        sectpr.append(cols)
    for col in cols.findall(qn("w:col")):
        cols.remove(col)
    cols.set(qn("w:num"), str(count))
    cols.set(qn("w:space"), str(round(COLUMN_GAP.pt * 20)))
    widths = column_widths(extents, text_width) if count > 1 and len(extents) == count else []
    if not widths:
        cols.attrib.pop(qn("w:equalWidth"), None)
        return
    cols.set(qn("w:equalWidth"), "0")
    for width, space in widths:
        col = cols.makeelement(qn("w:col"), {qn("w:w"): str(width)})
        if space:
            col.set(qn("w:space"), str(space))
        cols.append(col)


def column_widths(extents: Sequence[tuple[float, float]], text_width: int) -> list[tuple[int, int]]:
    """(width, gap after it) of each column in twentieths of a point, the text width
    shared out as the columns and gaps shared the page; [] where they overlap."""
    span = extents[-1][1] - extents[0][0] if extents else 0
    if span <= 0 or text_width <= 0:
        return []
    twips = Emu(text_width).pt * 20 / span
    widths = []
    for number, (left, right) in enumerate(extents):
        gap = extents[number + 1][0] - right if number + 1 < len(extents) else 0.0
        if right <= left or gap < 0:
            return []
        widths.append((round((right - left) * twips), max(round(gap * twips), MIN_COLUMN_GAP)
                       if number + 1 < len(extents) else 0))
    return widths


def column_extents(paragraphs: Sequence[Paragraph]) -> dict[int, list[tuple[float, float]]]:
    """Where each band's columns stand on the page (left, right in pixels), from the
    boxes of the paragraphs in them."""
    found: dict[int, dict[int, tuple[float, float]]] = {}
    for paragraph in paragraphs:
        if paragraph.kind in ("header", "footer") or paragraph.columns < 2:
            continue
        band = found.setdefault(paragraph.band, {})
        left, right = band.get(paragraph.column, (paragraph.box[0], paragraph.box[2]))
        band[paragraph.column] = (min(left, paragraph.box[0]), max(right, paragraph.box[2]))
    return {band: [columns[c] for c in sorted(columns)] for band, columns in found.items()}


def column_break(document: DocxDocument) -> None:
    paragraphs = document.paragraphs
    target = paragraphs[-1] if paragraphs else document.add_paragraph()
    target.add_run().add_break(WD_BREAK.COLUMN)


def font_size(paragraph: Paragraph, points_per_pixel: float) -> Pt:
    size = paragraph.line_height * points_per_pixel * LINE_TO_FONT
    return Pt(round(2 * max(MIN_FONT, min(MAX_FONT, size))) / 2)


def add_text(
    document: DocxDocument, paragraph: Paragraph, points_per_pixel: float, low: float | None
) -> DocxParagraph:
    """A heading, caption or body paragraph: one Word paragraph, its lines joined."""
    if paragraph.kind == "title":
        out = document.add_paragraph(style=f"Heading {min(paragraph.level, HEADING_MAX) or 1}")
    elif paragraph.kind == "caption":
        out = document.add_paragraph(style="Caption")
    else:
        out = document.add_paragraph()
    size = font_size(paragraph, points_per_pixel) if paragraph.line_height else None
    add_runs(out, paragraph, low, size)
    return out


def add_runs(out: DocxParagraph, paragraph: Paragraph, low: float | None, size: Pt | None) -> None:
    """A run per OCR block (so low-confidence ones can be highlighted), joined as
    `paragraphs.join_lines` joins lines: no line breaks inside the paragraph."""
    pieces = [(b.text.strip(), b.confidence) for line in paragraph.lines
              for b in line.blocks if b.text.strip()]
    runs: list[tuple[str, float]] = []
    for text, confidence in pieces:
        if runs:
            before, space = joint(runs[-1][0], text)
            runs[-1] = (before + space, runs[-1][1])
        runs.append((text, confidence))
    for text, confidence in runs:
        run = out.add_run(text)
        if size is not None:
            run.font.size = size
        if low is not None and confidence < low:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def add_figure(
    document: DocxDocument, paragraph: Paragraph, picture: Image.Image | None,
    points_per_pixel: float, text_width: int,
) -> None:
    """The figure cropped from the page, as wide as it stood (within the text width);
    its text goes into the picture's description (alt text)."""
    if picture is None:
        return
    pad = round(FIGURE_PAD * picture.width)  # the model's boxes are tight: keep frames
    left, top, right, bottom = (round(v) for v in paragraph.box)
    crop = picture.crop((max(left - pad, 0), max(top - pad, 0), min(right + pad, picture.width),
                         min(bottom + pad, picture.height)))
    if crop.width < 2 or crop.height < 2:
        return
    buffer = io.BytesIO()
    crop.save(buffer, format="PNG", optimize=True)
    buffer.seek(0)
    width = min(int(Pt(crop.width * points_per_pixel)), text_width)
    out = document.add_paragraph()
    out.add_run().add_picture(buffer, width=Emu(width))
    described = out._p.findall(f".//{qn('wp:docPr')}")
    if described and paragraph.text:
        described[0].set("descr", paragraph.text.replace("\n", " "))


def add_table(document: DocxDocument, paragraph: Paragraph, points_per_pixel: float,
              max_width: int = 0) -> None:
    """A Word table; its columns as wide as they stood on the page (`Paragraph.widths`,
    within `max_width` EMU) where they are known, else Word's equal shares."""
    rows = paragraph.rows
    if not rows or not rows[0]:
        return
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = document.styles["Table Grid"]
    if len(paragraph.widths) == len(rows[0]):
        set_table_widths(table, paragraph.widths, points_per_pixel, max_width)
    size = font_size(paragraph, points_per_pixel) if paragraph.line_height else None
    spanned: set[tuple[int, int]] = set()
    for top, left, height, width in paragraph.merges:  # merged while empty: no stray lines
        if top + height <= len(rows) and left + width <= len(rows[0]):
            table.cell(top, left).merge(table.cell(top + height - 1, left + width - 1))
            spanned |= {(r, c) for r in range(top, top + height)
                        for c in range(left, left + width)} - {(top, left)}
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            if not text:
                continue
            target = table.cell(r, c).paragraphs[0]  # a spanned slot: the merged cell
            if (r, c) in spanned and target.text:
                text = " " + text  # never dropped: joined to the merged cell's text
            run = target.add_run(text)
            if size is not None:
                run.font.size = size


def set_table_widths(table: Table, widths: Sequence[float], points_per_pixel: float,
                     max_width: int) -> None:
    """Fixed column widths (the grid's and every cell's: Word reads the cells', LibreOffice
    the grid's), scaled down together where the table would not fit."""
    emus = [int(Pt(w * points_per_pixel)) for w in widths]
    if max_width and sum(emus) > max_width:
        emus = [e * max_width // sum(emus) for e in emus]
    table.autofit = False
    for column, width in zip(table.columns, emus, strict=True):
        column.width = Emu(width)
        for cell in column.cells:
            cell.width = Emu(width)


def fill_header(section: Section, header: list[str], footer: list[str]) -> None:
    """The page's running header and footer (empty ones too: nothing carries over)."""
    for part, texts in ((section.header, header), (section.footer, footer)):
        part.is_linked_to_previous = False
        first = part.paragraphs[0]
        first.text = "    ".join(texts)
