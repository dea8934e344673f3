"""`ocrpipe report`: billed, failed and unknown calls per enterprise project and API, and
the calls saved (pages read from their text layer, blank, or a duplicate's)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import distinct, select, union

from pipeline.errors import ConfigError
from pipeline.store import Store
from pipeline.store.db import DEFAULT_DB
from pipeline.store.schema import runs, usage

COLUMNS = ("enterprise_project", "api", "billed", "failed", "unknown", "pages", "attempts",
           "saved")
HEADERS = ("enterprise project", "API", "billed calls", "failed calls",
           "outcome unknown (may be billed)", "pages billed", "attempts",
           "calls saved (no OCR needed)")


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


def existing_database(value: str | None) -> str:
    """The state database `ocrpipe report` reads ($OCRPIPE_DB or the default): a URL as
    given, a path only when the file exists (a report never creates a database)."""
    value = value or DEFAULT_DB
    if "://" in value:
        return value
    path = Path(value).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(
            f"no state database at {path}: no job has run with it yet. Run a job first, "
            "or point OCRPIPE_DB at the state database your jobs use"
        )
    return str(path)


async def job_names(store: Store) -> list[str]:
    """Every job that has a run or a ledger row in this state database."""
    query = union(select(distinct(runs.c.job)), select(distinct(usage.c.job)))
    async with store.engine.connect() as conn:
        return sorted(str(row[0]) for row in await conn.execute(query))
