"""The fields table: a structured API's answers as spreadsheet rows (CSV or XLSX).

One row per document page (per item, for APIs whose `result` is a list, such as
auto-classification, whose rows carry the detected `type`). The columns: source, page,
item (list APIs only), status, request_id, then the result's fields flattened with dots in the SDK
model's order (`pipeline.protocol.apis`), kept to those some row holds; lists and free
objects (`confidence`, `text_location`, `item_list`) are JSON text; keys the catalogue
does not know go to `other` as JSON. A failed document is one row with status `failed`
and its error.

Rows come from a stream (`pipeline.store.results.stored_pages`) and go out one by one:
`CsvTable` writes through the `csv` module, `XlsxTable` through openpyxl's write-only
workbook, so memory never holds the table.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, Protocol

from pipeline.protocol.apis import OcrApi

Cell = str | int | float | bool
Row = dict[str, Cell]

LEADING = ("source", "page", "item", "status", "request_id")
OTHER = "other"
XLSX_MAX_CELL = 32_767
"""Excel's limit on a cell's text; longer values (Base64 portraits) are cut with a note."""
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def table_key(job: str, fmt: str) -> str:
    """`<job name>.fields.<fmt>` at the output root (a '/' in the name becomes '_')."""
    return f"{job.replace('/', '_')}.fields.{fmt}"


def page_rows(
    api: OcrApi, key: str, page: int | None, result: Mapping[str, Any] | None, error: str = ""
) -> Iterator[Row]:
    """The rows of one stored page (`page_to_dict` form), or of a failed document."""
    if page is None or result is None:
        yield {"source": key, "status": "failed", "error": error}
        return
    base: Row = {"source": key, "page": page + 1, "status": "ok",
                 "request_id": str(result.get("request_id") or "")}
    raw = result.get("result")
    if raw is None:
        yield {**base, "status": "no fields: the stored result is from a text API "
                                 "(give the job a new name to send its pages again)"}
    elif isinstance(raw, list):
        if not raw:
            yield {**base, "status": "ok: nothing found"}
        for number, item in enumerate(raw, start=1):
            yield {**base, "item": number, **flatten(api, item)}
    else:
        yield {**base, **flatten(api, raw)}


def flatten(api: OcrApi, value: object) -> Row:
    """One answer (or list item) as column -> cell, following the API's columns."""
    if not isinstance(value, Mapping):
        return {OTHER: _cell(value)}
    row: Row = {}
    for column in api.columns:
        found: object = value
        for part in column.split("."):
            found = found.get(part) if isinstance(found, Mapping) else None
        if found is not None:
            row[column] = _cell(found)
    tops = {c.split(".", 1)[0] for c in api.columns}
    extra = {k: v for k, v in value.items() if k not in tops}
    if extra:
        row[OTHER] = _cell(extra)
    return row


def _cell(value: object) -> Cell:
    if isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def columns_of(api: OcrApi, present: Iterable[str]) -> list[str]:
    """The table's header: the leading columns (`item` only for APIs answering a list),
    then every field some row holds, in the catalogue's order (then `error` and `other`
    when used)."""
    seen = set(present)
    leading = [c for c in LEADING if c != "item" or api.result == "list"]
    fields = [c for c in api.columns if c in seen and c not in LEADING]
    tail = [c for c in ("error", OTHER) if c in seen]
    return [*leading, *fields, *tail]


class TableSink(Protocol):
    def add(self, rows: Sequence[Row]) -> None: ...

    def close(self) -> None: ...


class CsvTable:
    """Rows to a UTF-8 CSV file (with a BOM, so Excel reads the Chinese right)."""

    def __init__(self, path: str, columns: Sequence[str]) -> None:
        self._file: IO[str] = open(path, "w", encoding="utf-8-sig", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=list(columns), extrasaction="ignore")
        self._writer.writeheader()

    def add(self, rows: Sequence[Row]) -> None:
        self._writer.writerows(rows)

    def close(self) -> None:
        self._file.close()


class XlsxTable:
    """Rows to an .xlsx sheet with openpyxl's write-only workbook (rows go to a temporary
    file as they come; `close` zips them). openpyxl (and numpy, which it loads) is
    imported here, by the jobs that write xlsx: at every start of `ocrpipe run` it cost
    about a third of a second of CPU (issue 15)."""

    def __init__(self, path: str, columns: Sequence[str], sheet: str) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        self._cell = WriteOnlyCell
        self._path = path
        self._columns = list(columns)
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(sheet[:31])
        self._sheet.append(self._columns)

    def add(self, rows: Sequence[Row]) -> None:
        for row in rows:
            self._sheet.append([self._xlsx_cell(row.get(c)) for c in self._columns])

    def _xlsx_cell(self, value: Cell | None) -> object:
        if not isinstance(value, str):
            return value
        text = _ILLEGAL_XML.sub("", value)
        if len(text) > XLSX_MAX_CELL:
            note = f"... ({len(text)} characters: the whole value is in the .csv and .json)"
            text = text[: XLSX_MAX_CELL - len(note)] + note
        cell = self._cell(self._sheet, value=text)
        cell.data_type = "s"  # text that starts with '=' stays text, never a formula
        return cell

    def close(self) -> None:
        self._book.save(self._path)


def open_table(fmt: str, path: str, columns: Sequence[str], sheet: str) -> TableSink:
    if fmt == "csv":
        return CsvTable(path, columns)
    if fmt == "xlsx":
        return XlsxTable(path, columns, sheet)
    raise ValueError(f"no fields table format {fmt!r}")
