"""smart-document-recognizer's own layout as our regions (pipeline/recognizer_layout.py),
on an answer built from the SDK's models (tests/support/recognizer_answer.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.models import (
    DocumentResult,
    OcrResult,
    PageGeometry,
    PageResult,
    SourceObject,
)
from pipeline.ocr.client import parse_result
from pipeline.page_layout import page_layout
from pipeline.recognizer_layout import answer_regions, layout_options
from pipeline.writers import WRITERS, WriteOptions
from tests.support import recognizer_answer as sample
from tests.support.docx_structure import read_docx

API = "smart-document-recognizer"


@pytest.fixture
def answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv("HOME", str(tmp_path))  # the SDK writes ~/.huaweicloud on import
    return sample.recognizer_answer()


def parsed(body: bytes) -> OcrResult:
    return parse_result(body, width=sample.WIDTH, height=sample.HEIGHT, request_id="r", api=API)


def test_its_types_become_our_region_kinds(answer: bytes) -> None:
    regions = answer_regions(parsed(answer))
    assert regions is not None
    assert [(r.kind, r.box) for r in regions] == [
        ("title", (290, 240, 950, 340)),
        ("title", (90, 410, 570, 480)),  # sub_title
        ("text", (90, 490, 1110, 720)),
        ("table", sample.TABLE_BOX),
        ("footer", (590, 1670, 650, 1720)),  # the page number, at the bottom
    ]  # the stamp is left out


def test_the_layout_is_kept_without_tables_and_absent_layout_is_none(answer: bytes) -> None:
    body = json.loads(answer)
    del body["result"][0]["table_result"]
    result = parsed(json.dumps(body).encode())
    assert result.raw is not None  # kept for its layout alone
    assert answer_regions(result) is not None
    del body["result"][0]["layout_result"]
    assert answer_regions(parsed(json.dumps(body).encode())) is None  # the local model's turn


def test_a_job_on_the_recognizer_asks_for_layout_and_tables() -> None:
    assert layout_options(API, ()) == (("layout", True), ("table", True))
    assert layout_options(API, (("table", False),)) == (("layout", True), ("table", False))
    assert layout_options("general-text", (("language", "en"),)) == (("language", "en"),)


def test_word_gets_its_title_headings_and_its_table(answer: bytes) -> None:
    result = parsed(answer)
    page = PageResult(0, result, PageGeometry(sample.WIDTH, sample.HEIGHT, sample.WIDTH,
                                              sample.HEIGHT, 150.0), answer_regions(result))
    kinds = [(p.kind, p.level, p.text) for p in page_layout(page).paragraphs]
    assert kinds[:2] == [("title", 1, sample.TITLE), ("title", 2, sample.SUB_TITLE)]
    assert [k for k, _, _ in kinds] == ["title", "title", "text", "table", "footer"]
    doc = DocumentResult(SourceObject("report.png", "/in/report.png", 1), (page,))
    content = read_docx(WRITERS["docx"].render(doc, None, WriteOptions()))
    styles = dict((text, style) for style, text in content.paragraphs)
    assert styles[sample.TITLE] == "Heading 1" and styles[sample.SUB_TITLE] == "Heading 2"
    assert styles[" ".join(sample.PROSE)] == "Normal"
    [table] = content.tables
    assert table == [
        ["Region", "Sales", "Sales"], ["Region", "Q1", "Q2"], ["North", "10", "12"],
        ["South", "7", "9"]]  # merged cells read as each slot they cover
