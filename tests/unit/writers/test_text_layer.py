"""The searchable PDF's text reads right (issue 10, class 7): separate blocks on a line
come out as separate words however close their boxes are, >= 99.5 % of the TXT's words
come out of the PDF as the same words in order (pdftotext and pypdfium2 alike), and a
page that had a text layer ends with exactly one."""

from __future__ import annotations

import difflib
import io
import random
import subprocess
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
from PIL import Image

from pipeline.models import Block, DocumentResult, OcrResult, PageGeometry, PageResult, SourceObject
from pipeline.upright import reading_order
from pipeline.writers import WRITERS, WriteOptions

WIDTH, HEIGHT = 1700, 2200
VOCABULARY = ("Kodak Capture is a perfectly ordinary scanner that reads invoices receipts "
              "letters and forms from 2024 with totals like 4711.00 EUR").split()


def source_image(tmp: Path) -> Path:
    path = tmp / "scan.png"
    Image.new("L", (WIDTH, HEIGHT), 255).save(path, dpi=(200, 200))
    return path


def quad(x0: int, y0: int, x1: int, y1: int) -> tuple[tuple[int, int], ...]:
    return (x0, y0), (x1, y0), (x1, y1), (x0, y1)


def crowded_page(seed: int = 7) -> OcrResult:
    """60 lines of 2-5 blocks each; the gaps between blocks are 0 to 6 px (boxes that
    touch, as an engine gives for words printed close together)."""
    rng = random.Random(seed)
    blocks = []
    for row in range(60):
        top, x = 40 + row * 35, 40
        for _ in range(rng.randint(2, 5)):
            text = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(1, 3)))
            width = int(len(text) * rng.uniform(11, 17))
            blocks.append(Block(text, quad(x, top, x + width, top + 26), 0.95))  # type: ignore[arg-type]
            x += width + rng.randint(0, 6)
    return OcrResult(tuple(blocks), WIDTH, HEIGHT)


def write(fmt: str, source: Path, result: OcrResult) -> bytes:
    page = PageResult(0, result, PageGeometry(WIDTH, HEIGHT, WIDTH, HEIGHT, 200.0))
    doc = DocumentResult(SourceObject(source.name, str(source), 1), (page,))
    out = io.BytesIO()
    WRITERS[fmt].write(doc, str(source), WriteOptions(), out)
    return out.getvalue()


def pdftotext_words(path: Path) -> list[str]:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout.split()


def pdfium_words(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(path)
    try:
        return " ".join(page.get_textpage().get_text_range() for page in pdf).split()
    finally:
        pdf.close()


def same_words_in_order(expected: list[str], found: list[str]) -> float:
    matcher = difflib.SequenceMatcher(a=expected, b=found, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(expected)


def test_close_blocks_stay_separate_words_for_both_extractors(tmp_path: Path) -> None:
    source = source_image(tmp_path)
    result = OcrResult((
        Block("Kodak", quad(50, 50, 200, 90), 0.9),  # type: ignore[arg-type]
        Block("Capture", quad(201, 50, 400, 90), 0.9),  # type: ignore[arg-type]
        Block("Easy", quad(420, 50, 480, 90), 0.9),  # type: ignore[arg-type]
        Block("Go", quad(478, 52, 520, 88), 0.9),  # type: ignore[arg-type]  # overlapping
    ), WIDTH, HEIGHT)
    pdf = tmp_path / "close.pdf"
    pdf.write_bytes(write("pdf", source, result))
    for words in (pdftotext_words(pdf), pdfium_words(pdf)):
        assert words == ["Kodak", "Capture", "Easy", "Go"]


def test_the_pdf_gives_the_txts_words_in_order(tmp_path: Path) -> None:
    source = source_image(tmp_path)
    result = crowded_page()
    txt_words = write("txt", source, result).decode().split()
    pdf = tmp_path / "crowded.pdf"
    pdf.write_bytes(write("pdf", source, result))
    assert len(txt_words) > 300
    assert same_words_in_order(txt_words, pdftotext_words(pdf)) >= 0.995
    assert same_words_in_order(txt_words, pdfium_words(pdf)) >= 0.995


def test_a_pages_earlier_ocr_layer_is_replaced_not_doubled(tmp_path: Path) -> None:
    source = source_image(tmp_path)
    old = OcrResult((Block("Oldword layer", quad(50, 50, 600, 90), 0.9),), WIDTH, HEIGHT)  # type: ignore[arg-type]
    earlier = tmp_path / "earlier.pdf"
    earlier.write_bytes(write("pdf", source, old))  # a scan OCR'd before: invisible text
    assert pdftotext_words(earlier) == ["Oldword", "layer"]

    new = OcrResult((Block("Newword layer", quad(50, 50, 600, 90), 0.9),), WIDTH, HEIGHT)  # type: ignore[arg-type]
    again = tmp_path / "again.pdf"
    again.write_bytes(write("pdf", earlier, new))
    assert pdftotext_words(again) == ["Newword", "layer"]
    assert pdfium_words(again) == ["Newword", "layer"]


def test_a_page_with_visible_text_keeps_it_and_gets_no_second_layer(tmp_path: Path) -> None:
    born_digital = tmp_path / "letter.pdf"
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica,
    ))
    page = pdf.add_blank_page(page_size=(612, 792))
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pdf.make_stream(b"BT /F1 14 Tf 72 700 Td (Printed words here) Tj ET")
    pdf.save(born_digital)
    ocr = OcrResult((Block("Printed words here", quad(200, 150, 700, 190), 0.9),),  # type: ignore[arg-type]
                    1700, 2200)
    page_result = PageResult(0, ocr, PageGeometry(1700, 2200, 1700, 2200, 200.0))
    doc = DocumentResult(SourceObject("letter.pdf", str(born_digital), 1), (page_result,))
    out = io.BytesIO()
    WRITERS["pdf"].write(doc, str(born_digital), WriteOptions(), out)
    result = tmp_path / "result.pdf"
    result.write_bytes(out.getvalue())
    assert pdftotext_words(result) == ["Printed", "words", "here"]  # once, not twice
    assert pdfium_words(result) == ["Printed", "words", "here"]


def test_the_text_layer_paints_nothing(tmp_path: Path) -> None:
    """The glyphs have a size (so PDFium finds text running up or down a page) but no
    area: a white page stays white whoever renders it."""
    source = source_image(tmp_path)
    pdf = tmp_path / "white.pdf"
    pdf.write_bytes(write("pdf", source, crowded_page()))
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=1).to_pil().convert("L")
    finally:
        document.close()
    darkest = image.getextrema()[0]
    assert isinstance(darkest, int | float) and darkest >= 250  # 254 at the edges; a glyph: 0
    subprocess.run(["pdftoppm", "-r", "72", "-gray", "-singlefile", str(pdf),
                    str(tmp_path / "poppler")], check=True)
    darkest = Image.open(tmp_path / "poppler.pgm").getextrema()[0]
    assert isinstance(darkest, int | float) and darkest >= 250


def test_only_a_close_right_hand_neighbour_narrows_a_block() -> None:
    result = OcrResult((
        Block("left words", quad(100, 100, 400, 130), 0.9),  # type: ignore[arg-type]
        Block("close", quad(401, 100, 500, 130), 0.9),  # type: ignore[arg-type]
        Block("next line, slanted up into this one", quad(90, 112, 900, 142), 0.9),  # type: ignore[arg-type]
    ), WIDTH, HEIGHT)
    fills = {block.text: fill for line in reading_order(result) for block, fill in line}
    assert 0.7 <= fills["left words"] < 1.0  # its neighbour starts 1 px after it
    assert min(fills.values()) >= 0.7  # never squeezed so far that words run together
