"""`ocrpipe report`: billed, failed and unknown calls per enterprise project and API."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.console import Console
from rich.table import Table

COLUMNS = ("enterprise_project", "api", "billed", "failed", "unknown", "pages", "attempts")
HEADERS = ("enterprise project", "API", "billed calls", "failed calls",
           "outcome unknown (may be billed)", "pages billed", "attempts")


def _row(item: dict[str, Any]) -> list[Any]:
    return [item.get(c) or 0 if c not in ("enterprise_project", "api") else item[c]
            for c in COLUMNS]


def format_report(rows: list[dict[str, Any]], fmt: str) -> str:
    """The usage summary as 'table', 'csv' or 'json' text."""
    if fmt == "json":
        return json.dumps([dict(zip(COLUMNS, _row(r), strict=True)) for r in rows], indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(_row(r) for r in rows)
        return out.getvalue()
    table = Table(title="OCR usage by enterprise project", show_lines=False)
    for header in HEADERS:
        table.add_column(header, justify="left" if header in HEADERS[:2] else "right")
    for r in rows:
        table.add_row(*(str(v) for v in _row(r)))
    if not rows:
        table.caption = "no OCR calls recorded yet"
    buffer = io.StringIO()
    Console(file=buffer, width=120, force_terminal=False).print(table)
    return buffer.getvalue()
