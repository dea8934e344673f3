"""Word output: the same text as the TXT output, a section per page, CJK kept."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml.ns import qn

from pipeline.models import Block, DocumentResult, OcrResult, PageGeometry, PageResult, SourceObject
from pipeline.writers import WRITERS, WriteOptions


def named(text: str, x: int, y: int, w: int = 300, h: int = 30, conf: float = 0.95) -> Block:
    return Block.rect(text, x, y, w, h, conf)


def sample() -> DocumentResult:
    """Three pages: two columns with paragraphs, an empty page, a Chinese page."""
    first = (
        named("Heading of the report", 100, 50, w=1000),
        *(named(f"left column line {n}", 100, 150 + 40 * n, w=450) for n in range(5)),
        *(named(f"right column line {n}", 650, 150 + 40 * n, w=450) for n in range(5)),
        named("words", 100, 500, w=200), named("on one line", 320, 503, w=250, conf=0.4),
        named("A new paragraph after a gap", 100, 620, w=700),
    )
    chinese = (named("常熟银行\uff08601128.SH\uff09", 80, 60, w=600),
               named("营收增长稳健\uff0c看好微贷复苏持续", 80, 110, w=800))
    pages = (
        PageResult(0, OcrResult(first, 1240, 1754), PageGeometry(1240, 1754, 2480, 3508, 300.0)),
        PageResult(1, OcrResult((), 1240, 1754), PageGeometry(1240, 1754, 2480, 3508, 300.0)),
        PageResult(2, OcrResult(chinese, 1754, 1240)),  # no geometry: an old JSON result
    )
    return DocumentResult(SourceObject("scans/report.pdf", "/in/scans/report.pdf", 1234), pages)


def docx_pages(data: bytes) -> list[str]:
    """The text of each section (page), paragraphs joined by a blank line, as TXT does."""
    document = Document(io.BytesIO(data))
    pages: list[list[str]] = [[]]
    for paragraph in document.paragraphs:
        pages[-1].append(paragraph.text)
        if paragraph._p.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None:
            pages.append([])
    return ["\n\n".join(p) for p in pages]


def test_text_equals_the_reflowed_txt_output_page_by_page() -> None:
    doc = sample()
    data = WRITERS["docx"].render(doc, None, WriteOptions())
    txt = WRITERS["txt"].render(doc, None, WriteOptions(txt_lines=False)).decode().rstrip("\n")
    assert docx_pages(data) == txt.split("\f")
    lines = WRITERS["txt"].render(doc, None, WriteOptions()).decode()
    assert "left column line 0\nleft column line 1" in lines  # TXT keeps OCR lines
    assert "left column line 0 left column line 1" in txt  # reflowed: one line each
    assert "left column line 4\n\nright column line 0" in txt  # columns, not rows
    assert "words on one line" in txt  # blocks grouped into a line


def test_one_section_per_page_sized_like_the_page() -> None:
    document = Document(io.BytesIO(WRITERS["docx"].render(sample(), None, WriteOptions())))
    assert len(document.sections) == 3
    first, _, last = document.sections
    assert first.page_width is not None and first.page_height is not None
    assert abs(first.page_width.inches - 2480 / 300) < 0.01  # A4 at 300 dpi
    assert abs(first.page_height.inches - 3508 / 300) < 0.01
    assert last.page_width is not None and last.page_height is not None
    assert last.page_width > last.page_height  # landscape page, size unknown: A4 landscape


def test_properties_and_east_asian_font() -> None:
    document = Document(io.BytesIO(WRITERS["docx"].render(sample(), None, WriteOptions())))
    props = document.core_properties
    assert props.title == "report.pdf"
    assert props.identifier == "scans/report.pdf"
    assert "pages: 3" in props.comments
    assert props.created is not None
    fonts = document.styles["Normal"].element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia"))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "营收增长稳健\uff0c看好微贷复苏持续" in text


def test_low_confidence_highlight_is_off_by_default() -> None:
    def highlighted(options: WriteOptions) -> list[str]:
        document = Document(io.BytesIO(WRITERS["docx"].render(sample(), None, options)))
        return [run.text for p in document.paragraphs for run in p.runs
                if run.font.highlight_color == WD_COLOR_INDEX.YELLOW]

    assert highlighted(WriteOptions()) == []
    assert highlighted(WriteOptions(low_confidence=0.5)) == ["on one line"]


def test_libreoffice_renders_it(tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-writer-nogui; "
                    ".ci/run installs it)")
    source = tmp_path / "report.docx"
    source.write_bytes(WRITERS["docx"].render(sample(), None, WriteOptions()))
    done = subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=120,
    )
    pdf = tmp_path / "report.pdf"
    assert pdf.exists(), done.stdout + done.stderr
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"^Pages:\s+3$", info.stdout, re.M), info.stdout
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    text = " ".join(text.split())  # paragraphs wrap where the page ends them
    assert "Heading of the report" in text
    assert "right column line 4" in text
    assert "营收增长稳健" in text
