"""The JSON result's paragraphs (pipeline/layout_json.py): each page's reading order with
kinds, heading levels, boxes, lines and table cells; `ocrpipe export` rebuilds Word and
Markdown from them exactly as the run wrote them, and still reads a JSON without them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import DocumentError
from pipeline.export import export, load_result
from pipeline.models import Block, DocumentResult, OcrResult, PageResult, SourceObject
from pipeline.writers import WRITERS, WriteOptions
from tests.support.docx_structure import read_docx
from tests.unit.writers.test_docx_layout import layout_doc, scan


def saved(tmp_path: Path, doc: DocumentResult) -> Path:
    path = tmp_path / "book.tif.json"
    path.write_bytes(WRITERS["json"].render(doc, None, WriteOptions()))
    return path


def test_each_page_carries_its_paragraphs_in_reading_order(tmp_path: Path) -> None:
    data = json.loads(saved(tmp_path, layout_doc()).read_text(encoding="utf-8"))
    assert data["schema"] == 2
    page = data["pages"][0]
    paragraphs = page["paragraphs"]
    kinds = [p["kind"] for p in paragraphs]
    assert kinds == ["header", "title", "paragraph", "paragraph", "figure", "caption", "table",
                     "footer"]
    title = paragraphs[1]
    assert title["text"] == "The Title Of The Chapter" and title["level"] == 1
    left, top, right, bottom = title["bbox"]
    assert (left, top, right, bottom) == (250, 150, 990, 220)
    # lines name the page's OCR blocks; their texts make the paragraph's
    texts = [page["blocks"][i]["text"] for line in paragraphs[3]["lines"] for i in line]
    assert texts[-2:] == ["right column line 10 of prose run-", "ning on"]
    assert paragraphs[3]["text"].endswith("prose running on")
    assert (paragraphs[2]["columns"], paragraphs[2]["column"], paragraphs[3]["column"]) == (2, 0, 1)
    assert paragraphs[6]["rows"] == [["Item", "Count"], ["Bolts", "12"], ["Nuts", "7"]]
    assert paragraphs[6]["merges"] == []
    assert all("level" not in p for p in paragraphs if p["kind"] != "title")


@pytest.mark.parametrize("fmt", ["docx", "md", "txt"])
def test_export_rebuilds_what_the_run_wrote(tmp_path: Path, fmt: str) -> None:
    doc, source = layout_doc(), scan(tmp_path)
    result = saved(tmp_path, doc)
    written = WRITERS[fmt].render(doc, str(source), WriteOptions(txt_lines=False))
    rebuilt = export(result, fmt, source=source, options=WriteOptions(txt_lines=False))
    if fmt != "docx":
        assert rebuilt.read_bytes() == written
        return
    ours, theirs = read_docx(written), read_docx(rebuilt.read_bytes())
    assert theirs.paragraphs == ours.paragraphs and len(ours.paragraphs) == 8
    assert (theirs.tables, theirs.headers, theirs.footers, theirs.columns) == (
        ours.tables, ours.headers, ours.footers, ours.columns)
    assert theirs.pictures == ours.pictures and len(ours.pictures) == 2


def test_export_follows_the_stored_paragraphs(tmp_path: Path) -> None:
    """A user (or a later ocrpipe) may set a heading's level in the JSON: export keeps it."""
    result = saved(tmp_path, layout_doc())
    data = json.loads(result.read_text(encoding="utf-8"))
    data["pages"][1]["paragraphs"][1]["level"] = 2
    result.write_text(json.dumps(data), encoding="utf-8")
    styles = [style for style, text in read_docx(export(result, "docx").read_bytes()).paragraphs
              if text == "The Title Of The Chapter"]
    assert styles == ["Heading 1", "Heading 2"]


def test_a_json_without_paragraphs_has_them_computed(tmp_path: Path) -> None:
    doc = layout_doc()
    result = saved(tmp_path, doc)
    data = json.loads(result.read_text(encoding="utf-8"))
    for page in data["pages"]:
        del page["paragraphs"]
    data["schema"] = 1
    result.write_text(json.dumps(data), encoding="utf-8")
    assert all(page.paragraphs is None for page in load_result(result).pages)
    assert export(result, "md").read_bytes() == WRITERS["md"].render(doc, None, WriteOptions())


def test_turned_pages_keep_their_upright_boxes(tmp_path: Path) -> None:
    """Boxes are in the upright page's pixels; the page was sent turned (direction 90)."""
    def line(text: str, x: int) -> Block:  # a line read bottom to top in the image sent
        return Block(text, ((x, 900), (x, 100), (x + 40, 100), (x + 40, 900)), 0.9)

    result = OcrResult((line("Turned Heading Text", 60), line("first line of text", 200),
                        line("second line of text", 260)), 400, 1000, direction=90.0)
    doc = DocumentResult(SourceObject("t.png", "/in/t.png", 1), (PageResult(0, result),))
    path = saved(tmp_path, doc)
    [page] = json.loads(path.read_text(encoding="utf-8"))["pages"]
    for paragraph in page["paragraphs"]:
        left, top, right, bottom = paragraph["bbox"]
        assert 0 <= left < right <= 1000 and 0 <= top < bottom <= 400  # upright: landscape
    assert export(path, "md").read_bytes() == WRITERS["md"].render(doc, None, WriteOptions())


def test_malformed_paragraphs_say_where(tmp_path: Path) -> None:
    result = saved(tmp_path, layout_doc())
    data = json.loads(result.read_text(encoding="utf-8"))
    data["pages"][1]["paragraphs"][2]["lines"] = [[999]]
    result.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DocumentError, match=r"page 2, paragraph 3: block 999 is not one of"):
        load_result(result)
    data["pages"][1]["paragraphs"][2] = {"kind": "poem", "bbox": [0, 0, 1, 1]}
    result.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DocumentError, match=r"unknown kind 'poem'"):
        load_result(result)
