"""Pages that need no OCR call (issue 15), through a job against the fake OCR server:
a born-digital PDF is read from its text layer, a blank page is not sent, a copy of a
document recognised before reuses its pages; a garbage text layer is still OCR'd. Each
is a 'saved' ledger row (never billed) and counted in the summary and the report."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from pipeline.config import parse_job
from pipeline.ledger.report import format_report
from pipeline.progress import print_summary
from pipeline.runner import run_job
from pipeline.store import open_store
from pipeline.testing import FakeOcrServer, make_page
from tests.support.jobs import image_job
from tests.support.textpdf import text_layer_pdf

BORN = [["Annual report 2025", "Revenue grew by 12 percent."], ["Second page of the report."]]
MOJIBAKE = ["Caf\u00c3\u00a9 r\u00c3\u00a9sum\u00c3\u00a9 na\u00c3\u00afve \u00c3\u00bcber"]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.slow  # two jobs with worker processes: several seconds
async def test_pages_that_need_no_call_are_not_sent_and_are_counted(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = image_job(tmp_path, server, monkeypatch, name="saver", documents=1)
    inputs = tmp_path / "in"
    text_layer_pdf(inputs / "born.pdf", BORN)
    text_layer_pdf(inputs / "garbage.pdf", [MOJIBAKE], image=make_page("garbage", (612, 792)))
    Image.new("L", (1000, 1400), 250).save(inputs / "blank.png")
    summary = await run_job(parse_job(job))
    assert summary.failures == () and summary.documents_done == 4
    assert sorted(str(c.echoed) for c in server.calls) == ["page doc0", "page garbage"]
    out = tmp_path / "out"
    pages = read(out / "born.pdf.txt").rstrip("\n").split("\f")
    assert pages == ["\n".join(BORN[0]), BORN[1][0]]
    assert read(out / "garbage.pdf.txt").strip() == "page garbage"
    assert read(out / "blank.png.txt").strip() == ""
    assert summary.pages_sent == 2
    assert summary.calls_saved == {"default": 3}
    assert summary.saved_reasons == {"text_layer": 2, "blank": 1}
    assert summary.billed_calls == {"default": 2}
    shown = io.StringIO()
    print_summary(summary, file=shown)
    assert "calls saved" in shown.getvalue() and "2 text layer" in shown.getvalue()

    store = await open_store(str(tmp_path / "state.db"))
    try:
        (row,) = await store.usage_summary("saver")
    finally:
        await store.close()
    assert (row["billed"], row["saved"], row["pages"], row["attempts"]) == (2, 3, 2, 2)
    assert "calls saved" in format_report([row], "table")

    # a copy of doc0 under another name, in another job of the same state database
    copies = tmp_path / "copies"
    copies.mkdir()
    shutil.copy(inputs / "doc0.png", copies / "same-as-doc0.png")
    second = job.replace('name = "saver"', 'name = "copier"').replace(
        f'url = "{inputs}"', f'url = "{copies}"'
    )
    again = await run_job(parse_job(second))
    assert server.call_count == 2  # nothing sent this time
    assert again.saved_reasons == {"duplicate": 1} and again.calls_saved == {"default": 1}
    assert read(out / "same-as-doc0.png.txt").strip() == "page doc0"


@pytest.mark.slow
async def test_the_checks_can_be_turned_off(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = image_job(tmp_path, server, monkeypatch, name="all-sent", documents=0,
                    ocr="skip_text_pages = false\nskip_blank_pages = false\n")
    inputs = tmp_path / "in"
    text_layer_pdf(inputs / "born.pdf", BORN[:1])
    Image.new("L", (1000, 1400), 250).save(inputs / "blank.png")
    summary = await run_job(parse_job(job))
    assert summary.failures == ()
    assert server.call_count == 2 and summary.calls_saved == {}


@pytest.mark.slow  # three jobs with worker processes
async def test_what_is_saved_depends_on_the_api(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text layer stands in for a text API only (an invoice API wants its fields), and a
    document read through one API lends nothing to a job that asks another."""
    job = image_job(tmp_path, server, monkeypatch, name="texts", documents=1)
    first = await run_job(parse_job(job))
    assert first.pages_sent == 1 and server.call_count == 1

    invoices = tmp_path / "invoices"
    invoices.mkdir()
    shutil.copy(tmp_path / "in" / "doc0.png", invoices / "doc0-copy.png")
    text_layer_pdf(invoices / "born.pdf", [BORN[1]])
    structured = job.replace('name = "texts"', 'name = "invoices"').replace(
        f'url = "{tmp_path / "in"}"', f'url = "{invoices}"'
    ).replace("[output]\n", '[output]\nformats = ["json", "csv"]\n').replace(
        "[ocr]\n", '[ocr]\napi = "vat-invoice"\n'
    )
    second = await run_job(parse_job(structured))
    assert second.failures == () and second.pages_sent == 2
    assert second.calls_saved == {}
    assert sorted(str(c.api) for c in server.calls[1:]) == ["vat-invoice", "vat-invoice"]
