"""What a PDF page is made of (pipeline/pdf_content.py): a page of grey or bilevel scans
is rendered in grey, a page with anything in colour is rendered in colour."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
from PIL import Image, ImageDraw

from pipeline.page_worker import prepare_page
from pipeline.render import render_page


def scan_pdf(path: Path, mode: str, colour: str | int = 0) -> Path:
    image = Image.new(mode, (620, 877), "white" if mode == "RGB" else 255)
    ImageDraw.Draw(image).text((60, 80), "A scanned line of text", fill=colour, font_size=28)
    image.save(path, "PDF", resolution=75.0)
    return path


def test_bilevel_and_grey_scans_render_in_grey(tmp_path: Path) -> None:
    for mode in ("1", "L"):
        pdf = scan_pdf(tmp_path / f"{mode}.pdf", mode)
        image, dpi = render_page(str(pdf), 0, dpi=150)
        assert image.mode == "L" and dpi == 150
        assert image.getextrema() == (0, 255)  # the text is there, black on white


def test_a_colour_scan_renders_in_colour(tmp_path: Path) -> None:
    pdf = scan_pdf(tmp_path / "colour.pdf", "RGB", colour="red")
    image, _ = render_page(str(pdf), 0, dpi=150)
    assert image.mode == "RGB"
    red, green, _blue = (band.getextrema()[0] for band in image.split())
    assert isinstance(red, int) and isinstance(green, int)
    assert red > green + 100  # the red text stays red: no pixel is dark in red


def test_a_grey_scan_with_vector_art_on_top_renders_in_colour(tmp_path: Path) -> None:
    pdf = scan_pdf(tmp_path / "grey.pdf", "L")
    with pikepdf.open(pdf, allow_overwriting_input=True) as doc:
        page = doc.pages[0]
        page.contents_add(doc.make_stream(b"1 0 0 rg 10 10 50 50 re f"))  # a red square
        doc.save(pdf)
    image, _ = render_page(str(pdf), 0, dpi=150)
    assert image.mode == "RGB"
    assert image.getpixel((60, image.height - 60)) == (255, 0, 0)


def test_a_bilevel_page_is_sent_without_colour(tmp_path: Path) -> None:
    pdf = scan_pdf(tmp_path / "fax.pdf", "1")  # rendered at 2x: grey edges, so JPEG
    page = prepare_page(str(pdf), "fax.pdf", 0)
    assert page.format in ("jpeg", "png")
    with Image.open(io.BytesIO(page.data)) as sent:
        assert sent.mode in ("L", "1")
