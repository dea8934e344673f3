"""Tables of general-table and smart-document-recognizer answers: kept by the client, read
back as grids (spanning cells included), placed in the reading order, and written to Word
as real tables, the cells' text not repeated as paragraphs."""

from __future__ import annotations

import io
import json

from docx import Document

from pipeline.answer_tables import tables_of
from pipeline.models import DocumentResult, PageResult, SourceObject
from pipeline.ocr.client import parse_result
from pipeline.page_layout import page_layout
from pipeline.writers import WRITERS, WriteOptions


def quad(x0: int, y0: int, x1: int, y1: int) -> list[list[int]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def cell(
    words: str, rows: list[int], columns: list[int], box: list[list[int]]
) -> dict[str, object]:
    return {"words": words, "location": box, "confidence": 0.99, "rows": rows,
            "columns": columns, "cell_location": box}


GENERAL_TABLE = {"result": {"words_region_count": 3, "words_region_list": [
    {"type": "text", "words_block_count": 1,
     "words_block_list": [{"words": "Quarterly report", "location": quad(10, 10, 300, 40)}]},
    {"type": "table", "words_block_count": 5, "words_block_list": [
        cell("Item", [0], [0], quad(10, 100, 150, 130)),
        cell("Q1 and Q2", [0], [1, 2], quad(150, 100, 450, 130)),
        cell("pens", [1], [0], quad(10, 130, 150, 160)),
        cell("4", [1], [1], quad(150, 130, 300, 160)),
        cell("7", [1], [2], quad(300, 130, 450, 160)),
    ]},
    {"type": "text", "words_block_count": 1,
     "words_block_list": [{"words": "Signed by the clerk", "location": quad(10, 300, 300, 330)}]},
]}}


def general_table_result() -> PageResult:
    result = parse_result(json.dumps(GENERAL_TABLE).encode(), width=600, height=400,
                          request_id="r", api="general-table")
    return PageResult(0, result)


def test_the_client_keeps_a_table_answer_and_its_grid_reads_back() -> None:
    page = general_table_result()
    assert page.result.raw == GENERAL_TABLE["result"]
    [table] = tables_of(page.result)
    assert (table.rows, table.columns) == (2, 3)
    assert table.grid() == [["Item", "Q1 and Q2", ""], ["pens", "4", "7"]]
    assert table.box == (10, 100, 450, 160)
    plain = parse_result(b'{"result": {"words_block_list": []}}', width=1, height=1,
                         request_id="", api="general-text")
    assert plain.raw is None and tables_of(plain) == ()


def test_the_table_takes_its_place_in_the_reading_order() -> None:
    layout = page_layout(general_table_result())
    kinds = [p.kind for p in layout.paragraphs]
    assert kinds == ["text", "table", "text"]
    first, table, last = layout.paragraphs
    assert first.text == "Quarterly report" and last.text == "Signed by the clerk"
    assert table.rows == (("Item", "Q1 and Q2", ""), ("pens", "4", "7"))
    assert table.merges == ((0, 1, 1, 2),)


def test_smart_document_recognizer_tables() -> None:
    answer = {"result": [{
        "ocr_result": {"direction": 0, "words_block_list": [
            {"words": "a", "location": quad(20, 20, 40, 40)},
            {"words": "b", "location": quad(60, 20, 80, 40)}]},
        "table_result": {"table_count": 1, "table_list": [{
            "location": quad(0, 0, 100, 50), "words_block_count": 2,
            "words_block_list": [{"words": "a", "rows": [0], "columns": [0]},
                                 {"words": "b", "rows": [0], "columns": [1]}]}]},
    }]}
    result = parse_result(json.dumps(answer).encode(), width=100, height=50, request_id="",
                          api="smart-document-recognizer")
    [table] = tables_of(result)
    assert table.grid() == [["a", "b"]] and table.box == (0, 0, 100, 50)
    kinds = [p.kind for p in page_layout(PageResult(0, result)).paragraphs]
    assert kinds == ["table"]  # a and b only in the table


def test_word_gets_a_real_table_between_the_paragraphs() -> None:
    doc = DocumentResult(SourceObject("t.png", "t.png", 1), (general_table_result(),))
    data = WRITERS["docx"].render(doc, None, WriteOptions())
    word = Document(io.BytesIO(data))
    [table] = word.tables
    assert [[c.text for c in row.cells] for row in table.rows] == [
        ["Item", "Q1 and Q2", "Q1 and Q2"], ["pens", "4", "7"]  # the merged cell spans two
    ]
    texts = [p.text for p in word.paragraphs if p.text]
    assert texts == ["Quarterly report", "Signed by the clerk"]
    body = [child.tag.rsplit("}", 1)[1] for child in word.element.body]
    assert body.index("tbl") == 1 and body[0] == "p" and "p" in body[2:]
