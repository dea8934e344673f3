"""A folder of invoice pages through a `vat-invoice` job and one of ID cards through an
`id-card` job, by `ocrpipe run` in a subprocess against the testing kit's fake server
(which answers each page with the SDK's own answer shape, its strings tagged with the
page's tag): the fields table comes out as CSV and XLSX at the output root, openpyxl
reads the XLSX back, every row matches what the fake answered for that page, and a
re-run sends nothing and writes the same table again."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.protocol.apis import api
from pipeline.testing import FakeOcrServer, tagged_images, tagged_pdf
from pipeline.writers.fields_table import LEADING, flatten
from tests.support.cli_run import environment, finish, job_text, start


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def read_xlsx(path: Path) -> list[list[object]]:
    book = load_workbook(path, read_only=True)
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


async def run(tmp: Path, name: str, ocr: str, source: Path, server: FakeOcrServer) -> None:
    job = tmp / f"{name}.toml"
    text = job_text(name, source, tmp / "out", server, ocr=ocr)
    job.write_text(text + 'formats = ["csv", "xlsx", "json"]\n')
    done = await finish(await start(job, environment(tmp)))
    assert done.code == 0 and done.no_traceback(), done.out


def answers_by_page(server: FakeOcrServer, name: str) -> dict[str, dict[str, object]]:
    """What the fake answered for each page, by the tag it echoed ("page <tag>")."""
    out = {}
    for call in server.calls:
        if call.api == name and call.answer is not None and call.echoed is not None:
            result = call.answer["result"]
            assert isinstance(result, dict)
            out[call.echoed] = result
    return out


@pytest.mark.parametrize(
    ("name", "ocr", "sent_option"),
    [
        ("invoices", 'api = "vat-invoice"\noptions = {advanced_mode = true}\n', "advanced_mode"),
        ("cards", 'api = "id-card"\noptions = {side = "front"}\n', "side"),
    ],
)
async def test_structured_pages_become_rows_and_a_rerun_rebuilds_them(
    tmp_path: Path, server: FakeOcrServer, name: str, ocr: str, sent_option: str
) -> None:
    api_name = "vat-invoice" if name == "invoices" else "id-card"
    source = tmp_path / "in"
    tagged_images(source / "a", [f"{name[:4]}-1", f"{name[:4]}-2"])
    tagged_pdf(source / "b" / "batch.pdf", [f"{name[:4]}-p1", f"{name[:4]}-p2"])
    await run(tmp_path, name, ocr, source, server)
    assert server.call_count == 4
    assert all(c.api == api_name and sent_option in c.json for c in server.calls)

    table = tmp_path / "out" / f"{name}.fields.csv"
    rows = read_csv(table)
    assert [(r["source"], r["page"]) for r in rows] == [
        (f"a/{name[:4]}-1.png", "1"), (f"a/{name[:4]}-2.png", "1"),
        ("b/batch.pdf", "1"), ("b/batch.pdf", "2"),
    ]
    answered = answers_by_page(server, api_name)
    first_field = api(api_name).columns[0]  # title / name: "page <tag> title"
    for row in rows:
        tag = row[first_field].removesuffix(f" {first_field}")
        expected = flatten(api(api_name), answered[tag])
        assert row["status"] == "ok" and len(row["request_id"]) == 32
        assert {k: v for k, v in row.items() if k not in LEADING} == {
            k: str(v) for k, v in expected.items()
        }
    # the source order of the columns is the SDK model's, confidence where the API has one
    header = list(rows[0])
    assert header[:4] == ["source", "page", "status", "request_id"]  # no item: one object
    if api_name == "vat-invoice":
        assert json.loads(rows[0]["confidence"]) == {"confidence": 0.9}
        assert header.index("title") < header.index("item_list") < header.index("confidence")
    else:
        assert rows[0]["verification_result.valid_number"] == "True"

    sheet = read_xlsx(tmp_path / "out" / f"{name}.fields.xlsx")
    assert sheet[0] == header
    assert [[("" if v is None else str(v)) for v in r] for r in sheet[1:]] == [
        list(r.values()) for r in rows
    ]
    # the per-document JSON keeps each page's answer as returned
    saved = json.loads((tmp_path / "out" / "b" / "batch.pdf.json").read_text(encoding="utf-8"))
    assert [p["result"] for p in saved["pages"]] == [
        answered[f"page {name[:4]}-p1"], answered[f"page {name[:4]}-p2"]
    ]

    table.unlink()
    before = (tmp_path / "out" / f"{name}.fields.xlsx").stat().st_mtime_ns
    await run(tmp_path, name, ocr, source, server)
    assert server.call_count == 4  # nothing sent again
    assert read_csv(table) == rows
    assert read_xlsx(tmp_path / "out" / f"{name}.fields.xlsx") == sheet
    assert (tmp_path / "out" / f"{name}.fields.xlsx").stat().st_mtime_ns != before

    # the ledger keys by API: the report shows this job's 4 billed calls under its API
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pipeline", "report", "--format", "json", "--job", name,
        env=environment(tmp_path), stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    [usage] = json.loads(out)
    assert usage["api"] == api_name and usage["billed"] == 4
