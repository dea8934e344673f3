"""Turned pages read in order (issue 10, class 8): with `detect_direction`, boxes come
back in the pixels of the image as sent; TXT, DOCX and the searchable PDF must read the
lines in the upright page's order for a page turned by 90, 180 or 270 degrees."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import docx
import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.models import Block, DocumentResult, OcrResult, PageGeometry, PageResult, SourceObject
from pipeline.service.blocks import to_corners
from pipeline.service.direction import to_sent
from pipeline.upright import reading_order, to_upright
from pipeline.writers import WRITERS, WriteOptions

LINES = ["Line one alpha", "Line two bravo", "Line three charlie", "Line four delta"]


def turned_page(tmp: Path, direction: int) -> tuple[Path, OcrResult]:
    """A page turned by `direction` (what a scanner gave), and the answer the service
    gives for it: blocks in upright order, boxes in the pixels of the turned image."""
    font = ImageFont.load_default(size=36)
    upright = Image.new("L", (900, 700), 255)
    draw = ImageDraw.Draw(upright)
    boxes = []
    for number, text in enumerate(LINES):
        origin = (60, 60 + 150 * number)
        draw.text(origin, text, fill=0, font=font)
        x0, y0, x1, y1 = (round(v) for v in draw.textbbox(origin, text, font=font))
        boxes.append((text, ((x0, y0), (x1, y0), (x1, y1), (x0, y1))))
    sent = upright.rotate(direction, expand=True)  # counter-clockwise; turning it back
    path = tmp / f"turned{direction}.png"  # clockwise by `direction` makes it upright
    sent.save(path, dpi=(150, 150))
    blocks = tuple(  # corners listed from the top-left of the image as sent, as the
        Block(text, to_corners([to_sent(p, direction, sent.width, sent.height)  # service
                                for p in quad]), 0.99)  # does (service/layout.py)
        for text, quad in boxes
    )
    return path, OcrResult(blocks, sent.width, sent.height, float(direction))


def written(path: Path, result: OcrResult, fmt: str) -> bytes:
    width, height = result.width, result.height
    page = PageResult(0, result, PageGeometry(width, height, width, height, 150.0))
    doc = DocumentResult(SourceObject(path.name, str(path), path.stat().st_size), (page,))
    out = io.BytesIO()
    WRITERS[fmt].write(doc, str(path), WriteOptions(), out)
    return out.getvalue()


def in_order(text: str) -> bool:
    positions = [text.find(line) for line in LINES]
    return -1 not in positions and positions == sorted(positions)


@pytest.mark.parametrize("direction", [0, 90, 180, 270])
def test_txt_docx_and_pdf_read_a_turned_page_in_order(tmp_path: Path, direction: int) -> None:
    path, result = turned_page(tmp_path, direction)
    assert in_order(written(path, result, "txt").decode())
    document = docx.Document(io.BytesIO(written(path, result, "docx")))
    assert in_order("\n".join(p.text for p in document.paragraphs))
    searchable = tmp_path / "out.pdf"
    searchable.write_bytes(written(path, result, "pdf"))
    with pikepdf.open(searchable) as pdf:  # shown upright
        assert int(pdf.pages[0].obj.get("/Rotate", 0)) == direction
    for mode in ([], ["-raw"]):  # as laid out on the page, and the text layer's own order
        text = subprocess.run(["pdftotext", *mode, str(searchable), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert in_order(" ".join(text.split())), (mode, text)
    pdf = pdfium.PdfDocument(searchable)
    try:
        assert in_order(pdf[0].get_textpage().get_text_range())
    finally:
        pdf.close()


@pytest.mark.parametrize("direction", [90, 180, 270])
def test_upright_frame_undoes_the_service_turn(direction: int) -> None:
    width, height = 700, 900
    for point in [(0, 0), (10, 20), (699, 899), (350, 3)]:
        upright = to_upright(point, direction, width, height)
        assert to_sent(upright, direction, width, height) == point


@pytest.mark.parametrize("direction", [90, 180, 270])
def test_reading_order_keeps_the_points_as_sent_from_the_texts_corner(
    tmp_path: Path, direction: int
) -> None:
    _, result = turned_page(tmp_path, direction)
    ordered = [block for line in reading_order(result) for block, _ in line]
    assert [b.text for b in ordered] == LINES
    for block, sent in zip(ordered, result.blocks, strict=True):
        assert set(block.box) == set(sent.box)  # the sent points, not turned copies
        top_left = to_upright(block.box[0], direction, result.width, result.height)
        assert top_left == min((to_upright(p, direction, result.width, result.height)
                                for p in block.box), key=sum)  # first: the text's own
