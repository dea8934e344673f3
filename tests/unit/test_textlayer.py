"""A PDF page's own text layer as its result (issue 15): used when it can be trusted,
left to OCR when it is garbage or does not explain the page's ink."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.page_worker import PageSettings
from pipeline.pagetag import make_page
from pipeline.render import render_page
from pipeline.textlayer import text_layer_page, text_problem
from tests.support.textpdf import LEADING, LEFT, PAGE, TOP, text_layer_pdf

LINES = ["The quick brown fox jumps over the lazy dog.", "Second line: 42 apples & (pears)."]


def test_a_born_digital_page_is_read_from_its_text_layer(tmp_path: Path) -> None:
    path = text_layer_pdf(tmp_path / "born.pdf", [LINES, ["page two"] * 3])
    page, why = text_layer_page(str(path), 0, PageSettings(dpi=200))
    assert page is not None, why
    assert [b.text for b in page.result.blocks] == LINES
    assert page.geometry is not None and page.geometry.dpi == 200
    assert (page.result.width, page.result.height) == (1700, 2200)  # 8.5 x 11 in at 200 dpi
    (x0, y0), _, (x1, y1), _ = page.result.blocks[0].box
    scale = 200 / 72
    assert x0 == pytest.approx(LEFT * scale, abs=3)
    assert y0 < (PAGE[1] - TOP) * scale < y1  # the baseline inside the box
    assert x1 - x0 > 600 and 20 < y1 - y0 < 50
    assert all(b.confidence == 1.0 for b in page.result.blocks)
    second, _ = text_layer_page(str(path), 1, PageSettings(dpi=100))
    assert second is not None and second.index == 1 and second.result.width == 850


@pytest.mark.parametrize(("text", "problem"), [
    ("(cid:12)(cid:7)(cid:33) (cid:4)", "unmapped glyphs"),
    ("Caf\u00c3\u00a9 r\u00c3\u00a9sum\u00c3\u00a9 na\u00c3\u00afve", "mojibake"),
    ("\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd words here", "unreadable"),
    ("\ue000\ue001\ue002\ue003 private use area text", "unreadable"),
    ("p. 7", "only 3 characters"),
    ("", "only 0 characters"),
])
def test_garbage_text_is_told_from_text(text: str, problem: str) -> None:
    found = text_problem(text)
    assert found is not None and problem in found


@pytest.mark.parametrize("text", [
    "The quick brown fox jumps over the lazy dog.",
    "比亚迪股份有限公司 2023 年年度报告",
    "Café résumé naïve — “quoted” \u2018text\u2019 … 10 € and 5 £",
])
def test_real_text_passes(text: str) -> None:
    assert text_problem(text) is None


def test_a_mojibake_layer_is_left_to_ocr(tmp_path: Path) -> None:
    moji = ["Caf\u00c3\u00a9 r\u00c3\u00a9sum\u00c3\u00a9 na\u00c3\u00afve \u00c3\u00bcber",
            "\u00e2\u20ac\u0153quoted\u00e2\u20ac\u009d"[:-1] + " ok"]
    path = text_layer_pdf(tmp_path / "moji.pdf", [moji])
    page, why = text_layer_page(str(path), 0, PageSettings())
    assert page is None and "mojibake" in why


def test_a_scan_whose_layer_holds_only_a_stamp_is_left_to_ocr(tmp_path: Path) -> None:
    scan = make_page("scan-1", (1224, 1584))
    path = text_layer_pdf(tmp_path / "stamped.pdf", [["Scanned 2024-01-01 by ACME"]],
                          image=scan, size=8)
    page, why = text_layer_page(str(path), 0, PageSettings())
    assert page is None and "ink outside the text" in why


def painted(lines: list[str]) -> Image.Image:
    """A 144-dpi scan of `lines` set where `text_layer_pdf` puts them (12 pt Helvetica)."""
    image = Image.new("L", (PAGE[0] * 2, PAGE[1] * 2), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=22)
    for row, line in enumerate(lines):
        baseline = (PAGE[1] - (TOP - row * LEADING)) * 2
        draw.text((LEFT * 2, baseline), line, fill=0, font=font, anchor="ls")
    return image


def test_a_scan_with_an_invisible_ocr_layer_is_read_from_it(tmp_path: Path) -> None:
    lines = [*LINES, "A third line of the scanned page."]
    path = text_layer_pdf(tmp_path / "ocred.pdf", [lines], image=painted(lines), mode=3)
    page, why = text_layer_page(str(path), 0, PageSettings())
    assert page is not None, why
    assert [b.text for b in page.result.blocks] == lines


def test_the_same_scan_without_its_layer_goes_to_ocr(tmp_path: Path) -> None:
    lines = LINES
    path = text_layer_pdf(tmp_path / "scan.pdf", [[]], image=painted(lines), mode=3)
    page, why = text_layer_page(str(path), 0, PageSettings())
    assert page is None and "only 0 characters" in why


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_a_page_turned_by_rotate_is_read_as_displayed(tmp_path: Path, rotate: int) -> None:
    turned = text_layer_pdf(tmp_path / "turned.pdf", [LINES], rotate=rotate)
    page, why = text_layer_page(str(turned), 0, PageSettings(dpi=200))
    assert page is not None, why
    upright, _ = text_layer_page(str(text_layer_pdf(tmp_path / "up.pdf", [LINES])), 0,
                                 PageSettings(dpi=200))
    assert upright is not None
    size = (page.result.width, page.result.height)
    assert size == ((2200, 1700) if rotate in (90, 270) else (1700, 2200))
    assert sorted(b.text for b in page.result.blocks) == sorted(LINES)
    flat_boxes = {b.text: b.box for b in upright.result.blocks}
    for block in page.result.blocks:
        (x0, y0), _, (x1, y1), _ = block.box
        (u0, _), _, (_, v1), _ = flat_boxes[block.text]
        assert (x1 - x0 > y1 - y0) == (rotate == 180)  # lines run down a page turned 90/270
        if rotate == 90:  # clockwise: the page's left edge is now its top
            assert (x0, y0) == (2200 - v1, u0)
    # each box holds the ink of its text on the page as PDFium renders it (turned)
    rendered, _ = render_page(str(turned), 0, dpi=200)
    grey = rendered.convert("L")
    for block in page.result.blocks:
        (x0, y0), _, (x1, y1), _ = block.box
        inside = sum(grey.crop((x0, y0, x1, y1)).histogram()[:100])
        around = sum(grey.crop((x0 - 8, y0 - 8, x1 + 8, y1 + 8)).histogram()[:100])
        assert inside > 0 and around <= 1.05 * inside  # its text's dark pixels, all of them


def test_an_image_is_left_to_ocr(tmp_path: Path) -> None:
    png = tmp_path / "a.png"
    make_page("img", (320, 160)).save(png)
    assert text_layer_page(str(png), 0, PageSettings()) == (None, "not a PDF")
