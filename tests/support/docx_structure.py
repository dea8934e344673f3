"""What a Word file holds, as a reader sees it: paragraphs with their styles, pictures,
tables, headers and footers, sections with their columns, line breaks."""

from __future__ import annotations

import io
from dataclasses import dataclass

from docx import Document
from docx.oxml.ns import qn


@dataclass(frozen=True)
class DocxContent:
    paragraphs: list[tuple[str, str]]
    """(style name, text) of each body paragraph with text."""
    pictures: list[bytes]
    tables: list[list[list[str]]]
    headers: list[str]
    footers: list[str]
    """The texts of the sections' own headers and footers (not those carried over)."""
    columns: list[int]
    """Columns of each section, in order."""
    soft_breaks: int
    """Line breaks (<w:br/> without a page or column type) inside body paragraphs."""


def read_docx(data: bytes) -> DocxContent:
    document = Document(io.BytesIO(data))
    body = document.element.body
    pictures = []
    for blip in body.iter(qn("a:blip")):
        part = document.part.related_parts[blip.get(qn("r:embed"))]
        pictures.append(part.blob)
    soft = sum(
        1 for br in body.iter(qn("w:br"))
        if br.get(qn("w:type")) in (None, "textWrapping")
    )
    columns = []
    for section in document.sections:
        cols = section._sectPr.find(qn("w:cols"))
        columns.append(int(cols.get(qn("w:num"), "1")) if cols is not None else 1)
    return DocxContent(
        paragraphs=[(p.style.name if p.style is not None else "", p.text)
                    for p in document.paragraphs if p.text.strip()],
        pictures=pictures,
        tables=[[[cell.text for cell in row.cells] for row in table.rows]
                for table in document.tables],
        headers=[p.text for s in document.sections if not s.header.is_linked_to_previous
                 for p in s.header.paragraphs if p.text],
        footers=[p.text for s in document.sections if not s.footer.is_linked_to_previous
                 for p in s.footer.paragraphs if p.text],
        columns=columns,
        soft_breaks=soft,
    )
