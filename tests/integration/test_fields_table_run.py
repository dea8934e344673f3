"""The fields table of a run, in process against the fake server: an `auto-classification`
job (whose `result` is a list: one row per item, carrying the detected `type`), a page
the service fails (its document becomes one `failed` row with the error), and what the
table does with odd cell values."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.config import parse_job
from pipeline.protocol.apis import api
from pipeline.runner import run_job
from pipeline.testing import FakeOcrServer, Reply
from pipeline.writers.fields_table import XLSX_MAX_CELL, XlsxTable, columns_of, page_rows
from tests.support.jobs import image_job


async def test_a_list_api_gives_a_row_per_item_and_a_failed_document_a_row(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = image_job(tmp_path, server, monkeypatch, name="sorted", documents=3,
                     ocr='api = "auto-classification"\n')
    spec = parse_job(text + 'formats = ["csv"]\n')
    server.script(Reply.echo(), Reply.error(400, "AIS.0103", "the image is too small"))
    summary = await run_job(spec)
    assert summary.documents_failed == 1 and server.call_count == 3
    with (tmp_path / "out" / "sorted.fields.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3
    by_status = sorted(rows, key=lambda r: r["status"])
    failed = by_status[0]
    assert failed["status"] == "failed" and "AIS.0103" in failed["error"] and not failed["page"]
    for row in by_status[1:]:
        assert row["item"] == "1"
        tag = row["source"].removesuffix(".png")
        assert row["type"] == f"page {tag} type"  # the detected type of the item
        assert row["status.error_code"] == f"page {tag} error_code"
    answered = sorted(c.echoed for c in server.calls if c.echoed)
    assert sorted(f"page {r['source'].removesuffix('.png')}" for r in by_status[1:]) == answered


def test_rows_of_unknown_keys_empty_lists_and_text_results() -> None:
    vat = api("vat-invoice")
    [row] = page_rows(vat, "a.png", 0, {"request_id": "r1", "result": {
        "title": "T", "item_list": [{"name": "pen"}], "new_field": 1}})
    assert row["title"] == "T" and row["item_list"] == '[{"name":"pen"}]'
    assert row["other"] == '{"new_field":1}' and row["page"] == 1
    assert columns_of(vat, row)[-2:] == ["item_list", "other"]
    [empty] = page_rows(api("license-plate"), "b.png", 2, {"request_id": "", "result": []})
    assert empty["status"] == "ok: nothing found" and empty["page"] == 3
    [old] = page_rows(vat, "c.png", 0, {"request_id": "r", "blocks": []})
    assert str(old["status"]).startswith("no fields")


def test_xlsx_keeps_formulas_as_text_and_cuts_overlong_cells(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    table = XlsxTable(str(path), ["source", "title", "portrait"], "vat-invoice")
    table.add([{"source": "a.png", "title": "=HYPERLINK(\"http://x\")\x01",
                "portrait": "A" * (XLSX_MAX_CELL + 10)}])
    table.close()
    book = load_workbook(path)
    sheet = book.worksheets[0]
    assert sheet["B2"].value == "=HYPERLINK(\"http://x\")" and sheet["B2"].data_type == "s"
    assert len(sheet["C2"].value) == XLSX_MAX_CELL and "characters" in sheet["C2"].value
    book.close()
