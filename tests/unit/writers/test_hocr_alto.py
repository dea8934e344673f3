"""hOCR and ALTO from synthetic results: words inside lines inside blocks inside the page,
text that reads back as it was recognised, XML valid and escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from pipeline.export import export
from pipeline.models import (
    Block,
    DocumentResult,
    OcrResult,
    PageGeometry,
    PageResult,
    Quad,
    Region,
    SourceObject,
)
from pipeline.writers import WRITERS, WriteOptions
from pipeline.writers.words import Box, block_words, page_layout, split_words
from tests.support.altocheck import ALTO, alto_problems
from tests.support.hocrcheck import read_hocr

NS = {"a": ALTO}


def quad(left: int, top: int, right: int, bottom: int, slant: int = 0) -> Quad:
    return (left, top), (right, top + slant), (right, bottom + slant), (left, bottom)


LINES = [
    Block('Fish & chips <cost> "£5"', quad(40, 40, 700, 80), 0.91),
    Block("second line of the paragraph", quad(40, 92, 760, 132, slant=6), 0.88),
    Block("二一二四年 annual 报告", quad(40, 400, 520, 440), 0.75),
]


def document(*pages: PageResult, key: str = "in/a&b <1>.pdf") -> DocumentResult:
    return DocumentResult(SourceObject(key=key, url="", size=10), pages)


def scanned(index: int = 0, blocks: list[Block] = LINES, direction: float = -1.0,
            scale: int = 2) -> PageResult:
    result = OcrResult(tuple(blocks), 800, 1000, direction)
    geometry = PageGeometry(800, 1000, 800 * scale, 1000 * scale, 150.0 * scale)
    return PageResult(index, result, geometry)


def render(fmt: str, doc: DocumentResult) -> bytes:
    return WRITERS[fmt].render(doc, None, WriteOptions())


def test_words_split_at_spaces_and_cjk_one_character_each() -> None:
    assert [w for w, _, _ in split_words("  two  words ")] == ["two", "words"]
    assert [w for w, _, _ in split_words("二一二四年 annual 报告")] == [
        "二", "一", "二", "四", "年", "annual", "报", "告",
    ]
    assert [w for w, _, _ in split_words("第3季度")] == ["第", "3", "季", "度"]


def test_word_boxes_follow_the_characters_widths_along_the_line() -> None:
    words = block_words(Block("mmmm iiii", quad(0, 0, 1000, 50), 0.9))
    wide, narrow = words
    assert wide.box.left == 0 and narrow.box.right == 1000
    assert wide.box.width > 2 * narrow.box.width  # m is far wider than i
    assert wide.box.right < narrow.box.left  # the space between them
    slanted = block_words(Block("up hill", quad(0, 100, 400, 140, slant=-40), 0.9))
    assert slanted[1].box.top < slanted[0].box.top  # the second word sits higher


def test_hocr_nests_words_in_lines_in_blocks_in_the_page() -> None:
    doc = document(scanned(0), scanned(1, LINES[:1]))
    pages, problems = read_hocr(render("hocr", doc))
    assert problems == []
    assert [p.ppageno for p in pages] == [0, 1]
    assert pages[0].bbox == (0, 0, 1600, 2000)  # the source pixels, not the sent image's
    assert pages[0].image == '"in/a&b <1>.pdf"'
    assert pages[0].line_texts == [b.text for b in LINES]
    assert len(pages[0].blocks) == 2  # a paragraph of two lines, then one far below
    first = pages[0].lines[0]
    assert [w.text for w in first] == ["Fish", "&", "chips", "<cost>", '"£5"']
    assert all(w.wconf == 91 for w in first)
    assert first[0].bbox[0] == 80 and first[-1].bbox[2] == 1400  # scaled by 2
    xs = [w.bbox[0] for w in first]
    assert xs == sorted(xs)


def test_alto_is_valid_and_reads_back_the_text_with_boxes_and_confidences() -> None:
    data = render("alto", document(scanned(0), scanned(1, LINES[1:])))
    assert alto_problems(data) == []
    root = etree.fromstring(data)
    assert root.findtext("a:Description/a:MeasurementUnit", namespaces=NS) == "pixel"
    pages = root.findall("a:Layout/a:Page", NS)
    assert [p.get("PHYSICAL_IMG_NR") for p in pages] == ["1", "2"]
    assert (pages[0].get("WIDTH"), pages[0].get("HEIGHT")) == ("1600", "2000")
    texts = []
    for line in pages[0].iterfind(".//a:TextLine", NS):
        texts.append("".join(
            " " if etree.QName(n).localname == "SP" else n.get("CONTENT") for n in line
        ))
    assert texts == [b.text for b in LINES]
    confidences = {s.get("WC") for s in pages[0].iterfind(".//a:String", NS)}
    assert confidences == {"0.910", "0.880", "0.750"}

    def box(node: etree._Element) -> Box:
        left, top = int(node.get("HPOS")), int(node.get("VPOS"))
        return Box(left, top, left + int(node.get("WIDTH")), top + int(node.get("HEIGHT")))

    for page in pages:
        space = page.find("a:PrintSpace", NS)
        for block in space.iterfind("a:TextBlock", NS):
            assert box(space).contains(box(block))
            for line in block.iterfind("a:TextLine", NS):
                assert box(block).contains(box(line))
                for word in line.iterfind("a:String", NS):
                    assert box(line).contains(box(word))


def test_the_checks_catch_broken_documents() -> None:
    """The validators are not vacuous: each rule they apply fails on a document that
    breaks it."""
    good = render("alto", document(scanned()))
    for old, new, problem in [
        (b"<MeasurementUnit>pixel</MeasurementUnit>", b"", "MeasurementUnit occurs 0"),
        (b'WC="0.910"', b'WC="1.5"', "outside 0..1"),
        (b'ID="line_1_2"', b'ID="line_1_1"', "used twice"),
        (b'HPOS="80"', b'HPOS="eighty"', "not an xsd:float"),
        (b'CONTENT="Fish"', b"", "required attribute CONTENT"),
    ]:
        assert old in good
        problems = alto_problems(good.replace(old, new, 1))
        assert any(problem in p for p in problems), (problem, problems)
    hocr = render("hocr", document(scanned()))
    word = b'id="word_1_1" title="bbox 80 '
    assert word in hocr
    moved = hocr.replace(word, word.replace(b"80", b"10"))  # left of its line
    assert any("outside its ocr_line" in p for p in read_hocr(moved)[1])


def test_special_characters_are_escaped_and_come_back_whole() -> None:
    odd = Block("a<b & c>d \"e\" 'f' \u00a0g", quad(10, 10, 600, 50), 0.5)
    doc = document(scanned(0, [odd]), key='x"&<y>.png')
    for fmt in ("hocr", "alto"):
        data = render(fmt, doc)
        etree.fromstring(data)  # well-formed
        assert b"<b &" not in data
    pages, problems = read_hocr(render("hocr", doc))
    assert problems == [] and pages[0].line_texts == ["a<b & c>d \"e\" 'f' g"]
    strings = etree.fromstring(render("alto", doc)).iterfind(".//a:String", NS)
    assert [s.get("CONTENT") for s in strings] == ["a<b", "&", "c>d", '"e"', "'f'", "g"]


def test_a_page_turned_by_the_service_is_written_upright() -> None:
    # boxes of a page sent turned by 90 degrees: its text runs down the image as sent
    turned = Block("upright text", ((900, 40), (960, 40), (960, 700), (900, 700)), 0.9)
    page = PageResult(0, OcrResult((turned,), 1000, 800, 90.0),
                      PageGeometry(1000, 800, 1000, 800, None))
    layout = page_layout(page)
    assert (layout.width, layout.height) == (800, 1000)
    (block,) = layout.blocks
    first, second = block.lines[0].words
    assert first.box.right <= second.box.left  # left to right in the upright page
    assert first.box.height < first.box.width


def test_layout_regions_group_the_lines_into_blocks() -> None:
    title = Block("A Title", quad(40, 40, 400, 90), 0.9)
    body = [Block(f"body line {n}", quad(40, 120 + 40 * n, 700, 150 + 40 * n), 0.9)
            for n in range(3)]
    page = PageResult(0, OcrResult((title, *body), 800, 1000), None, regions=(
        Region("title", (30, 30, 420, 100)),
        Region("text", (30, 110, 720, 240)),
        Region("figure", (30, 500, 700, 900)),
    ))
    layout = page_layout(page)
    assert [(b.kind, len(b.lines)) for b in layout.blocks] == [
        ("title", 1), ("text", 3), ("figure", 0),
    ]
    pages, problems = read_hocr(render("hocr", document(page)))
    assert problems == [] and pages[0].blocks[2] == (30, 500, 700, 900)
    alto = render("alto", document(page))
    assert alto_problems(alto) == []
    figures = etree.fromstring(alto).findall(".//a:Illustration", NS)
    assert [f.get("VPOS") for f in figures] == ["500"]


def test_an_empty_page_and_an_empty_document_are_valid() -> None:
    blank = PageResult(0, OcrResult((), 800, 1000), None)
    assert alto_problems(render("alto", document(blank))) == []
    pages, problems = read_hocr(render("hocr", document(blank)))
    assert problems == [] and pages[0].lines == []


@pytest.mark.parametrize("fmt", ["hocr", "alto"])
def test_export_rebuilds_them_from_the_json_result(tmp_path: Path, fmt: str) -> None:
    doc = document(scanned(0), scanned(1, LINES[2:]))
    result = tmp_path / "a.pdf.json"
    result.write_bytes(render("json", doc))
    written = export(result, fmt)
    assert written.name == "a.pdf" + WRITERS[fmt].suffix
    assert written.read_bytes() == render(fmt, doc)
    assert json.loads(result.read_text())["page_count"] == 2
