"""A realistic `smart-document-recognizer` answer for one report page, built from the
official SDK's own models (so its shape is the SDK's), for tests of the recognizer's
layout (pipeline/recognizer_layout.py) through the fake server.

The page (1240 x 1754 pixels): a title, a sub-title, a paragraph of five lines, a table
whose header cell "Region" spans two rows and "Sales" two columns, a stamp over the
lower right, and a page number at the bottom. `layout_result` gives each part's type,
location and the indices of its words; `table_result` the table's cells.

Import the SDK only with HOME pointing at a temporary folder: it writes
~/.huaweicloud/application_id on import.
"""

from __future__ import annotations

import json
from typing import Any

WIDTH, HEIGHT = 1240, 1754
TITLE, SUB_TITLE = "Quarterly Report", "Sales By Region"
PROSE = [
    "Sales grew in every region this quarter, led by the",
    "north, where two new shops opened in the spring and",
    "the older ones held their ground against the online",
    "sellers. The south grew more slowly but its margins",
    "were the best of the year.",
]
CELLS = [  # words, rows, columns, box
    ("Region", [0, 1], [0], (110, 810, 400, 890)),
    ("Sales", [0], [1, 2], (420, 810, 1080, 845)),
    ("Q1", [1], [1], (420, 855, 700, 890)),
    ("Q2", [1], [2], (720, 855, 1080, 890)),
    ("North", [2], [0], (110, 905, 400, 940)),
    ("10", [2], [1], (420, 905, 700, 940)),
    ("12", [2], [2], (720, 905, 1080, 940)),
    ("South", [3], [0], (110, 955, 400, 990)),
    ("7", [3], [1], (420, 955, 700, 990)),
    ("9", [3], [2], (720, 955, 1080, 990)),
]
TABLE_BOX = (100, 800, 1100, 1000)
GRID = [["Region", "Sales", ""], ["", "Q1", "Q2"], ["North", "10", "12"],
        ["South", "7", "9"]]


def _corners(box: tuple[int, int, int, int]) -> list[list[int]]:
    left, top, right, bottom = box
    return [[left, top], [right, top], [right, bottom], [left, bottom]]


def recognizer_answer() -> bytes:
    """The 200 body, as JSON bytes."""
    from huaweicloudsdkocr.v1 import model as m

    words: list[tuple[str, tuple[int, int, int, int]]] = [
        (TITLE, (300, 250, 940, 330)), (SUB_TITLE, (100, 420, 560, 470))]
    words += [(text, (100, 500 + 44 * n, 1100, 532 + 44 * n)) for n, text in enumerate(PROSE)]
    first_cell = len(words)
    words += [(text, box) for text, _, _, box in CELLS]
    words.append(("3", (600, 1680, 640, 1710)))
    ocr = m.SmartDocumentRecognizerOcrResult(
        direction=0.0, words_block_count=len(words),
        words_block_list=[m.SmartDocumentRecognizerWordsBlockList(
            words=text, location=_corners(box), confidence=0.98) for text, box in words],
    )
    table = m.SmartDocumentRecognizerTableBlock(
        location=_corners(TABLE_BOX), words_block_count=len(CELLS),
        words_block_list=[m.SmartDocumentRecognizerTableWordsBlock(
            words=text, rows=rows, columns=columns) for text, rows, columns, _ in CELLS],
    )

    def part(kind: str, box: tuple[int, int, int, int], ids: list[int], text: str = "",
             **more: Any) -> Any:
        return m.SmartDocumentRecognizerLayoutBlock(
            location=_corners(box), type=kind, text=text, words_ids=ids, **more)

    prose_ids = list(range(2, 2 + len(PROSE)))
    blocks = [
        part("title", (290, 240, 950, 340), [0], TITLE),
        part("sub_title", (90, 410, 570, 480), [1], SUB_TITLE),
        part("text", (90, 490, 1110, 720), prose_ids, " ".join(PROSE)),
        part("table", TABLE_BOX, list(range(first_cell, first_cell + len(CELLS))), table_id=0),
        part("stamp", (800, 1300, 1050, 1550), []),
        part("page_number", (590, 1670, 650, 1720), [len(words) - 1], "3"),
    ]
    result = m.SmartDocumentRecognizerResult(
        ocr_result=ocr,
        table_result=m.SmartDocumentRecognizerTableResult(table_count=1, table_list=[table]),
        layout_result=m.SmartDocumentRecognizerLayoutResult(
            layout_block_count=len(blocks), layout_block_list=blocks),
    )
    return json.dumps({"result": [result.to_dict()]}).encode()
