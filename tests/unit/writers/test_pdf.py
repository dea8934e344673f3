"""Searchable PDF: the text layer is extractable, lands on its boxes, survives rotation."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.models import DocumentResult, OcrResult, PageGeometry, PageResult, SourceObject
from pipeline.page_worker import PageSettings, prepare_page
from pipeline.writers import WRITERS, WriteOptions
from pipeline.writers.pdf import DEFAULT_IMAGE_DPI
from pipeline.writers.pdf_font import TextFont, glyphless_truetype
from pipeline.writers.text_layer import remove_invisible_text
from tests.support.paths import DATA_DIR, SAMPLES_DIR
from tests.support.pdfcheck import (
    Word,
    block,
    document,
    inside,
    page_result,
    pdftotext,
    qpdf_check,
    words,
)

render_pdf = WRITERS["pdf"].render

LINES = ["Invoice 4711 total", "Shipped to Hamburg", "Paid with thanks"]
TOLERANCE_PT = 1.5


def upright_page() -> tuple[Image.Image, list[tuple[str, tuple[float, float, float, float]]]]:
    """A 900 x 600 grey page with LINES drawn on it, and each line's box in its pixels."""
    font = ImageFont.load_default(size=40)
    image = Image.new("L", (900, 600), 255)
    draw = ImageDraw.Draw(image)
    boxes = []
    for number, text in enumerate(LINES):
        origin = (80 + 40 * number, 80 + 150 * number)
        draw.text(origin, text, fill=0, font=font)
        boxes.append((text, tuple(float(v) for v in draw.textbbox(origin, text, font=font))))
    return image, boxes  # type: ignore[return-value]


def pdf_with_rotate(image: Image.Image, rotate: int, path: Path) -> None:
    """One page with /Rotate `rotate` that displays `image` upright, 1 px = 1 pt."""
    stored = image.rotate(rotate, expand=True)  # counter-clockwise: /Rotate turns it back
    pdf = pikepdf.new()
    xobject = pikepdf.Stream(pdf, stored.tobytes(), Type=pikepdf.Name.XObject,
                             Subtype=pikepdf.Name.Image, Width=stored.width,
                             Height=stored.height, BitsPerComponent=8,
                             ColorSpace=pikepdf.Name.DeviceGray)
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, stored.width, stored.height], Rotate=rotate,
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobject)),
        Contents=pdf.make_stream(f"q {stored.width} 0 0 {stored.height} 0 0 cm /Im0 Do Q"
                                 .encode()),
    )
    pdf.pages.append(pikepdf.Page(page))
    pdf.save(path)


def jpeg_with_orientation(image: Image.Image, orientation: int, path: Path, dpi: int) -> None:
    """A JPEG whose EXIF `orientation` shows `image` upright."""
    turn = {1: 0, 3: 180, 6: 90, 8: 270}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.rotate(turn, expand=True).save(path, "JPEG", exif=exif, dpi=(dpi, dpi), quality=90)


def result_for(path: Path, boxes: list[tuple[str, tuple[float, float, float, float]]],
               upright_width: int) -> DocumentResult:
    """The OCR answer for the page as the pipeline renders and sends it."""
    page = prepare_page(str(path), path.name, 0, PageSettings(dpi=100))
    scale = page.width / upright_width
    blocks = tuple(block(text, tuple(v * scale for v in box)) for text, box in boxes)  # type: ignore[arg-type]
    result = PageResult(0, OcrResult(blocks, page.width, page.height), PageGeometry.of(page))
    return DocumentResult(SourceObject(path.name, str(path), path.stat().st_size), (result,))


def assert_words_on_boxes(out: Path, boxes: list[tuple[str, tuple[float, float, float, float]]],
                          points_per_pixel: float) -> None:
    found = words(out)
    assert [w.text for w in found] == " ".join(text for text, _ in boxes).split()
    for text, box in boxes:
        expected = (box[0] * points_per_pixel, box[1] * points_per_pixel,
                    box[2] * points_per_pixel, box[3] * points_per_pixel)
        for word in (w for w in found if w.text in text.split()):
            assert inside(word.box, expected, TOLERANCE_PT), (word, expected)


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_pdf_page_rotation_text_lands_on_its_boxes(tmp_path: Path, rotate: int) -> None:
    image, boxes = upright_page()
    source = tmp_path / f"rotated_{rotate}.pdf"
    pdf_with_rotate(image, rotate, source)
    out = tmp_path / "out.pdf"
    out.write_bytes(render_pdf(result_for(source, boxes, image.width), str(source),
                               WriteOptions()))
    qpdf_check(out)
    assert pdftotext(out).split() == " ".join(LINES).split()
    assert_words_on_boxes(out, boxes, points_per_pixel=1.0)
    with pikepdf.open(out) as pdf:
        assert int(pdf.pages[0].obj.Rotate) == rotate  # the original page, not a re-render


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_jpeg_embedded_as_is_and_exif_rotation_becomes_page_rotation(
    tmp_path: Path, orientation: int
) -> None:
    image, boxes = upright_page()
    source = tmp_path / f"photo_{orientation}.jpg"
    jpeg_with_orientation(image, orientation, source, dpi=150)
    out = tmp_path / "out.pdf"
    out.write_bytes(render_pdf(result_for(source, boxes, image.width), str(source),
                               WriteOptions()))
    qpdf_check(out)
    assert_words_on_boxes(out, boxes, points_per_pixel=72 / 150)
    with pikepdf.open(out) as pdf:
        page = pdf.pages[0]
        (xobject,) = page.get_images().values()
        assert xobject.read_raw_bytes() == source.read_bytes()  # no recompression
        assert xobject.Filter == pikepdf.Name.DCTDecode
        assert int(page.obj.get("/Rotate", 0)) == {1: 0, 3: 180, 6: 90, 8: 270}[orientation]


def test_black_and_white_png_is_lossless_g4_at_the_default_dpi(tmp_path: Path) -> None:
    image, boxes = upright_page()
    source = tmp_path / "scan.png"
    image.convert("L").point(lambda v: 255 if v > 128 else 0).save(source)  # 2-grey PNG
    out = tmp_path / "out.pdf"
    out.write_bytes(render_pdf(result_for(source, boxes, image.width), str(source),
                               WriteOptions()))
    qpdf_check(out)
    assert_words_on_boxes(out, boxes, points_per_pixel=72 / DEFAULT_IMAGE_DPI)
    with pikepdf.open(out) as pdf:
        (xobject,) = pdf.pages[0].get_images().values()
        assert int(xobject.BitsPerComponent) == 1  # a black-and-white page stays 1-bit
        assert xobject.Filter == pikepdf.Name.CCITTFaxDecode
    extracted = tmp_path / "extracted"  # poppler decodes it exactly as it was
    subprocess.run(["pdfimages", "-png", str(out), str(extracted)], check=True)
    with Image.open(tmp_path / "extracted-000.png") as pixels, Image.open(source) as original:
        assert np.array_equal(np.asarray(pixels.convert("L")), np.asarray(original))


def test_font_is_small_and_maps_any_unicode() -> None:
    font_program = glyphless_truetype()
    assert len(font_program) < 400
    assert font_program[:4] == b"\x00\x01\x00\x00"
    font = TextFont(["Ab 中文", "𠀋 é"])  # 𠀋: CJK Extension B, outside the BMP
    cmap = font.to_unicode_cmap().decode()
    assert "<D840DC0B>" in cmap  # UTF-16 surrogate pair for U+2000B
    assert len(font.encode("中文")) == 4
    pdf = pikepdf.new()
    ref = font.pdf_object(pdf)
    assert ref.Subtype == pikepdf.Name.Type0
    assert ref.Encoding == pikepdf.Name("/Identity-H")


def test_chinese_extracts_as_chinese(tmp_path: Path, corpus_dir: Path) -> None:
    source = corpus_dir / "pages" / "omni_zh_research_report.jpg"
    gt = [line for line in (source.with_suffix(".gt.txt")).read_text("utf-8").splitlines()
          if line.strip()][:12]
    blocks = [(text, (0.05, 0.04 + 0.07 * n, 0.9, 0.09 + 0.07 * n)) for n, text in enumerate(gt)]
    doc = document(str(source), [page_result(str(source), 0, blocks)])
    out = tmp_path / "zh.pdf"
    out.write_bytes(render_pdf(doc, str(source), WriteOptions()))
    qpdf_check(out)
    text = re.sub(r"\s+", "", pdftotext(out))
    assert text == re.sub(r"\s+", "", "".join(gt))
    assert "常熟银行" in text


def test_senate_rotate_90_layer_matches_the_original_text(tmp_path: Path) -> None:
    """pdfplumber_senate_expenditures.pdf has /Rotate 90 and its own text layer: OCR blocks
    placed where its words are must come out at those words' boxes."""
    source = SAMPLES_DIR / "pdfs" / "pdfplumber_senate_expenditures.pdf"
    original: list[Word] = []  # words well apart, so that pdftotext keeps them apart
    for word in (w for w in words(source) if w.page == 0 and w.box[2] - w.box[0] > 8):
        if len(original) < 30 and not any(inside(word.box, w.box, 0) or overlap(word, w, 4)
                                           for w in original):
            original.append(word)
    display_w, display_h = 792.0, 612.0  # a letter page shown landscape
    blocks = [
        (f"zq{n}x", (w.box[0] / display_w, w.box[1] / display_h, w.box[2] / display_w,
                     w.box[3] / display_h))
        for n, w in enumerate(original)
    ]
    # a page with visible text keeps it and gets no second layer: the original's text
    # taken off, the same page gets ours (text_layer.py)
    scan = tmp_path / "senate-without-text.pdf"
    with pikepdf.open(source) as pdf:
        remove_invisible_text(pdf.pages[0], visible_too=True)
        pdf.save(scan)
    doc = document(str(scan), [page_result(str(scan), 0, blocks, dpi=150)])
    out = tmp_path / "senate.pdf"
    out.write_bytes(render_pdf(doc, str(scan), WriteOptions()))
    qpdf_check(out)
    ours = {w.text: w for w in words(out) if w.text.startswith("zq")}
    assert len(ours) == len(original)
    for n, word in enumerate(original):
        assert inside(ours[f"zq{n}x"].box, word.box, 1.0), (ours[f"zq{n}x"], word)


def overlap(a: Word, b: Word, margin: float) -> bool:
    return not (a.box[2] + margin < b.box[0] or b.box[2] + margin < a.box[0]
                or a.box[3] + margin < b.box[1] or b.box[3] + margin < a.box[1])


def test_rotate_270_scan_layer_sits_on_the_ink(tmp_path: Path) -> None:
    """docling_ocr_test_rotated_270.pdf (/Rotate 270): blocks around the ink of the page
    as sent to OCR must come out, mapped into the rotated page, around the ink that
    poppler draws for it."""
    source = DATA_DIR / "docling_ocr_test_rotated_270.pdf"
    sent = prepare_page(str(source), source.name, 0, PageSettings(dpi=72))
    dark = np.asarray(Image.open(io.BytesIO(sent.data)).convert("L")) < 128
    rows, cols = np.flatnonzero(dark.any(axis=1)), np.flatnonzero(dark.any(axis=0))
    ink = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    result = PageResult(0, OcrResult((block("Docling", ink),), sent.width, sent.height),
                        PageGeometry.of(sent))
    out = tmp_path / "r270.pdf"
    out.write_bytes(render_pdf(document(str(source), [result]), str(source), WriteOptions()))
    qpdf_check(out)
    png = tmp_path / "shown"
    subprocess.run(["pdftoppm", "-r", "72", "-gray", "-png", "-singlefile", str(out), str(png)],
                   check=True)
    shown = np.asarray(Image.open(png.with_suffix(".png")).convert("L")) < 128
    rows, cols = np.flatnonzero(shown.any(axis=1)), np.flatnonzero(shown.any(axis=0))
    shown_ink = (float(cols[0]), float(rows[0]), float(cols[-1]) + 1, float(rows[-1]) + 1)
    (word,) = words(out)
    assert word.text == "Docling"
    assert inside(word.box, shown_ink, 2.5) and inside(shown_ink, word.box, 2.5)


def test_image_only_pdf_grows_by_little_more_than_the_text(tmp_path: Path,
                                                           corpus_dir: Path) -> None:
    source = corpus_dir / "pdfs" / "ocrmypdf_multipage.pdf"
    line = "The quick brown fox jumps over the lazy dog 0123456789"
    blocks = [(f"{n} {line}", (0.05, 0.02 + 0.024 * n, 0.95, 0.04 + 0.024 * n))
              for n in range(40)]
    pages = [page_result(str(source), i, blocks, dpi=72) for i in range(6)]
    out = tmp_path / "multi.pdf"
    out.write_bytes(WRITERS["pdf"].render(document(str(source), pages), str(source),
                                          WriteOptions()))
    qpdf_check(out)
    text_bytes = sum(len(b.text.encode()) for p in pages for b in p.result.blocks)
    assert out.stat().st_size <= 1.1 * source.stat().st_size + text_bytes
    assert pdftotext(out).count("quick brown fox") == 6 * 40
