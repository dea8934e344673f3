"""Word and Markdown from a page with layout regions: headings, figures cropped from the
page image, captions, tables, running heads, two columns, no line breaks in paragraphs."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from pipeline.models import (
    Block,
    DocumentResult,
    OcrResult,
    PageGeometry,
    PageResult,
    Region,
    SourceObject,
    page_from_dict,
    page_to_dict,
)
from pipeline.writers import WRITERS, WriteOptions
from tests.support.docx_structure import read_docx

WIDTH, HEIGHT = 1240, 1754
FIGURE = (200, 900, 700, 1250)


def block(text: str, x: int, y: int, w: int = 460, h: int = 28) -> Block:
    return Block.rect(text, x, y, w, h, 0.9)


def page_blocks(number: int) -> tuple[Block, ...]:
    left = [block(f"left column line {n} of prose that runs on and", 100, 300 + 36 * n)
            for n in range(12)]
    right = [block(f"right column line {n} of prose run-", 660, 300 + 36 * n) for n in range(11)]
    right.append(block("ning on", 660, 300 + 36 * 11, w=120))
    return (
        block("Running Head Of The Book", 100, 40, w=500, h=24),
        block("The Title Of The Chapter", 250, 150, w=740, h=70),
        *left, *right,
        block("Fig. 1. A red square.", 200, 1270, w=400),
        block("Item", 100, 1400, w=100), block("Count", 700, 1400, w=120),
        block("Bolts", 100, 1450, w=110), block("12", 700, 1450, w=40),
        block("Nuts", 100, 1500, w=100), block("7", 700, 1500, w=20),
        block(f"{number + 11}", 600, 1680, w=40, h=24),
    )


REGIONS = (
    Region("header", (95, 35, 605, 70)),
    Region("title", (240, 140, 1000, 230)),
    Region("text", (90, 290, 570, 740)),
    Region("text", (650, 290, 1130, 740)),
    Region("figure", FIGURE),
    Region("figure_caption", (190, 1262, 610, 1305)),
    Region("table", (90, 1390, 830, 1535)),
)


def layout_doc(regions: tuple[Region, ...] | None = REGIONS) -> DocumentResult:
    pages = tuple(
        PageResult(i, OcrResult(page_blocks(i), WIDTH, HEIGHT),
                   PageGeometry(WIDTH, HEIGHT, WIDTH, HEIGHT, 150.0), regions)
        for i in range(2)
    )
    return DocumentResult(SourceObject("book.tif", "/in/book.tif", 1), pages)


def scan(tmp: Path) -> Path:
    """The page image the figures are cropped from: white, a red square at FIGURE."""
    frames = []
    for _ in range(2):
        image = Image.new("RGB", (WIDTH, HEIGHT), "white")
        ImageDraw.Draw(image).rectangle(FIGURE, fill=(220, 0, 0))
        frames.append(image)
    path = tmp / "book.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(150, 150))
    return path


def test_word_document_people_can_edit(tmp_path: Path) -> None:
    data = WRITERS["docx"].render(layout_doc(), str(scan(tmp_path)), WriteOptions())
    content = read_docx(data)
    styles = dict((text, style) for style, text in content.paragraphs)
    assert styles["The Title Of The Chapter"] == "Heading 1"
    assert styles["Fig. 1. A red square."] == "Caption"
    prose = [text for style, text in content.paragraphs if style == "Normal"]
    assert len(prose) == 4  # two columns, each one paragraph, on two pages
    assert all("Fig. 1" not in text for text in prose)
    assert "run-ning" not in " ".join(prose) and "running on" in prose[1]
    assert content.soft_breaks == 0
    assert content.tables == [[["Item", "Count"], ["Bolts", "12"], ["Nuts", "7"]]] * 2
    assert content.headers == ["Running Head Of The Book"] * 2
    assert content.footers == ["11", "12"]
    assert 2 in content.columns  # the prose band as two Word columns
    assert len(content.pictures) == 2
    with Image.open(io.BytesIO(content.pictures[0])) as picture:
        pixel = picture.convert("RGB").getpixel((picture.width // 2, picture.height // 2))
        assert isinstance(pixel, tuple)
        red, green, _ = pixel
        pad = round(0.01 * WIDTH)  # a margin around the model's tight box
        assert abs(picture.width - (FIGURE[2] - FIGURE[0]) - 2 * pad) <= 2
        assert red > 200 and green < 30  # the figure, cropped where it stood


def test_headers_can_be_dropped_and_export_has_no_picture_without_the_source() -> None:
    content = read_docx(WRITERS["docx"].render(layout_doc(), None, WriteOptions(headers="drop")))
    assert content.headers == [] and content.footers == []
    assert content.pictures == []
    assert all("Running Head" not in text for _, text in content.paragraphs)


def test_markdown_headings_tables_figures() -> None:
    text = WRITERS["md"].render(layout_doc(), None, WriteOptions(headers="drop")).decode()
    assert text.count("# The Title Of The Chapter\n") == 2
    assert "| Item | Count |\n|---|---|\n| Bolts | 12 |\n| Nuts | 7 |" in text
    assert "![Fig. 1. A red square.](#figure-1-1)" in text
    assert "*Fig. 1. A red square.*" in text
    assert "Running Head" not in text
    assert "\n\n---\n\n" in text  # between the pages


def test_reflowed_txt_follows_the_paragraphs() -> None:
    lines = WRITERS["txt"].render(layout_doc(), None, WriteOptions()).decode()
    reflowed = WRITERS["txt"].render(layout_doc(), None, WriteOptions(txt_lines=False)).decode()
    assert "prose run-\nning on" in lines  # OCR lines kept
    assert "prose running on" in reflowed
    assert "Item\tCount\nBolts\t12" in reflowed


def test_regions_round_trip_through_the_json_result_and_old_results_read() -> None:
    page = layout_doc().pages[0]
    assert page_from_dict(page_to_dict(page)) == page
    old = page_to_dict(layout_doc(regions=None).pages[0])
    assert "regions" not in old and page_from_dict(old).regions is None


def test_figure_of_a_turned_page_is_cropped_upright(tmp_path: Path) -> None:
    """A page scanned sideways (the service found direction 90): boxes and regions are in
    the pixels as sent; the figure is cropped from the page turned upright."""
    upright = Image.new("RGB", (600, 800), "white")
    ImageDraw.Draw(upright).rectangle((100, 500, 300, 700), fill=(0, 0, 230))
    sent = upright.transpose(Image.Transpose.ROTATE_90)  # 800 x 600, as scanned
    path = tmp_path / "turned.png"
    sent.save(path)

    def from_upright(x: int, y: int) -> tuple[int, int]:  # inverse of upright.to_upright
        return y, 600 - x

    a, b = from_upright(100, 500), from_upright(300, 700)
    region = Region("figure", (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]),
                               max(a[1], b[1])))
    def line(n: int) -> Block:
        top, bottom = 60 + 40 * n, 90 + 40 * n
        corners = (from_upright(50, top), from_upright(550, top),
                   from_upright(550, bottom), from_upright(50, bottom))
        return Block(f"line {n}", corners, 0.9)

    lines = tuple(line(n) for n in range(5))
    page = PageResult(0, OcrResult(lines, 800, 600, direction=90.0), None, (region,))
    doc = DocumentResult(SourceObject("turned.png", str(path), 1), (page,))
    content = read_docx(WRITERS["docx"].render(doc, str(path), WriteOptions()))
    assert [text for _, text in content.paragraphs] == [
        "line 0 line 1 line 2 line 3 line 4"]
    with Image.open(io.BytesIO(content.pictures[0])) as picture:
        assert picture.height > picture.width * 0.9  # upright: the square, not a strip
        pixel = picture.convert("RGB").getpixel((picture.width // 2, picture.height // 2))
        assert pixel == (0, 0, 230)
