import csv
import io
import json
from typing import Any

from pipeline.ledger import format_report

ROWS: list[dict[str, Any]] = [
    {"enterprise_project": "default", "api": "general-text", "billed": 3, "failed": 1,
     "unknown": 0, "pages": 3, "attempts": 4},
    {"enterprise_project": "finance", "api": "general-text", "billed": None, "failed": 0,
     "unknown": 2, "pages": 0, "attempts": 2},
]


def test_json_and_csv_carry_every_column() -> None:
    data = json.loads(format_report(ROWS, "json"))
    assert data[1] == {"enterprise_project": "finance", "api": "general-text", "billed": 0,
                       "failed": 0, "unknown": 2, "pages": 0, "attempts": 2, "saved": 0}
    rows = list(csv.DictReader(io.StringIO(format_report(ROWS, "csv"))))
    assert rows[0]["billed"] == "3" and rows[0]["enterprise_project"] == "default"


def test_table_names_the_columns_and_projects() -> None:
    text = format_report(ROWS, "table")
    assert "finance" in text and "billed calls" in text and "unknown" in text
    assert "no OCR calls recorded yet" in format_report([], "table")
