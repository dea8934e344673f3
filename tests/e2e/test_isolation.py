"""One bad document never stops a job (issue 10, class 1; DESIGN.md invariant 1).

Each trigger fails its own document with a reason in plain words, the other documents
are processed, there is no traceback, and a re-run does the same (it does not hit a
wall). Driven through `ocrpipe run` in a subprocess where the class is about the
process, else through `run_job` with a stage made to fail.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

import pytest

from pipeline import document as document_module
from pipeline import page_worker
from pipeline.config import parse_job
from pipeline.models import DocumentResult
from pipeline.render import inspect_document
from pipeline.runner import run_job
from pipeline.testing import FakeOcrServer
from pipeline.writers import WRITERS, WriteOptions
from tests.support.cli_run import environment, job_text, ocrpipe_run
from tests.support.inputs import text_page, text_pdf
from tests.support.jobs import image_job

GOOD = 3


def inputs_with_good_documents(tmp: Path) -> Path:
    folder = tmp / "in"
    folder.mkdir()
    for n in range(GOOD):
        text_page([f"Document {n}"], size=(320, 120)).save(folder / f"doc{n}.png")
    return folder


def document_rows(db: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT key, status, error FROM documents").fetchall()
    return {key: (status, error) for key, status, error in rows}


def good_outputs_written(out: Path) -> bool:
    return all((out / f"doc{n}.png.txt").is_file() for n in range(GOOD))


async def test_a_file_name_that_is_not_utf8_fails_alone_on_every_run(
    tmp_path: Path, server: FakeOcrServer
) -> None:
    inputs = inputs_with_good_documents(tmp_path)
    bad = os.path.join(os.fsencode(inputs), b"caf\xe9 \xff.png")
    text_page(["Latin-1 name"], size=(320, 120)).save(bad.decode("utf-8", "surrogateescape"))
    job = tmp_path / "job.toml"
    job.write_text(job_text("odd-names", inputs, tmp_path / "out", server))
    env = environment(tmp_path)

    for _ in range(2):  # the second run meets the same file and still goes on
        run = await ocrpipe_run(job, env)
        assert run.code == 1, run.out
        assert run.no_traceback(), run.out
        assert "caf\\xe9 \\xff.png" in run.out and "not valid UTF-8" in run.out
        assert good_outputs_written(tmp_path / "out")
    rows = document_rows(tmp_path / "state.db")
    assert rows["caf\\xe9 \\xff.png"][0] == "failed"
    assert all(rows[f"doc{n}.png"][0] == "done" for n in range(GOOD))
    assert server.call_count == GOOD  # the bad file was never sent, the good ones once


async def test_outputs_the_file_system_refuses_fail_only_their_document(
    tmp_path: Path, server: FakeOcrServer
) -> None:
    """A symlink in the output folder that leads outside it, one that loops, a folder
    where the output file should be, and a name too long for the file system once `.txt`
    is added."""
    inputs = inputs_with_good_documents(tmp_path)
    long_name = "L" * (255 - len(".png")) + ".png"  # fits; its output name does not
    for name in ("linked.png", "blocked.png", "looped.png", long_name):
        text_page([name[:10]], size=(320, 120)).save(inputs / name)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "linked.png.txt").symlink_to(elsewhere / "stolen.txt")
    (out / "blocked.png.txt").mkdir()
    (out / "looped.png.txt").symlink_to(out / "looped.png.txt")  # a link to itself
    job = tmp_path / "job.toml"
    job.write_text(job_text("refused", inputs, out, server))

    run = await ocrpipe_run(job, environment(tmp_path))
    assert run.code == 1, run.out
    assert run.no_traceback(), run.out
    assert good_outputs_written(out)
    assert not (elsewhere / "stolen.txt").exists()  # nothing written through the link
    rows = document_rows(tmp_path / "state.db")
    assert "symbolic link" in (rows["linked.png"][1] or "")
    assert "Is a directory" in (rows["blocked.png"][1] or "")
    assert "too long" in (rows[long_name][1] or "")
    assert "looping link" in (rows["looped.png"][1] or "")
    assert "4 document(s) failed" in run.out


async def test_an_unexpected_exception_in_a_stage_fails_only_its_document(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = parse_job(image_job(tmp_path, server, monkeypatch, name="bug", documents=GOOD))
    real = WRITERS["json"].write

    def write(
        doc: DocumentResult, source: str | None, options: WriteOptions, out: BinaryIO
    ) -> None:
        if doc.source.key == "doc1.png":
            raise KeyError("a bug in a writer")
        real(doc, source, options, out)

    monkeypatch.setitem(WRITERS, "json", replace(WRITERS["json"], write=write))
    summary = await run_job(spec)
    assert summary.documents_done == GOOD - 1 and summary.documents_failed == 1
    (key, reason), = summary.failures
    assert key == "doc1.png" and "unexpected KeyError" in reason
    assert document_rows(tmp_path / "state.db")["doc1.png"][0] == "failed"

    # the bug fixed: the re-run completes the document
    monkeypatch.setitem(WRITERS, "json", replace(WRITERS["json"], write=real))
    again = await run_job(spec)
    assert again.documents_done == 1 and again.documents_skipped == GOOD - 1
    assert again.pages_reused == 1 and again.pages_sent == 0  # its page was not paid twice


def inspect_or_die(path: str, password: str | None = None) -> object:
    """`inspect_document`, except that a worker given a `crash*` file dies: every time
    for `crash-always`, the first time only for `crash-once` (a marker file beside it)."""
    name = os.path.basename(path)
    marker = path + ".crashed"
    if name.startswith("crash-always") or (
        name.startswith("crash-once") and not os.path.exists(marker)
    ):
        Path(marker).touch()
        os._exit(9)
    return inspect_document(path, password=password)


# BMP: a small PNG or JPEG is inspected in a thread of ocrpipe, never in a worker
@pytest.mark.parametrize("crasher", ["crash-once.bmp", "crash-always.bmp"])
async def test_a_dead_worker_process_is_replaced_and_its_document_tried_once_more(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch, crasher: str
) -> None:
    """The documents whose calls the dead worker's pool took down are tried again and
    done; the one that kills its worker every time fails alone, in plain words."""
    spec = parse_job(image_job(tmp_path, server, monkeypatch, name="crash", documents=GOOD))
    text_page([crasher], size=(320, 120)).save(tmp_path / "in" / crasher)
    monkeypatch.setattr(document_module, "inspect_document", inspect_or_die)

    summary = await run_job(spec)
    assert (tmp_path / "in" / f"{crasher}.crashed").exists()  # a worker did die
    assert all((tmp_path / "out" / f"doc{n}.png.json").is_file() for n in range(GOOD))
    if crasher == "crash-once.bmp":
        assert summary.documents_done == GOOD + 1 and not summary.failures
        assert (tmp_path / "out" / "crash-once.bmp.txt").is_file()
    else:
        assert summary.documents_done == GOOD
        (key, reason), = summary.failures
        assert key == crasher and "worker process died" in reason
    assert server.call_count == summary.documents_done  # every page sent once


async def test_a_state_database_that_fails_still_stops_the_job(
    tmp_path: Path, server: FakeOcrServer
) -> None:
    """Job-wide causes are not swallowed: a state database that is not one is exit 2."""
    inputs = inputs_with_good_documents(tmp_path)
    job = tmp_path / "job.toml"
    job.write_text(job_text("db", inputs, tmp_path / "out", server))
    (tmp_path / "state.db").write_bytes(b"this is not a database" * 100)
    run = await ocrpipe_run(job, environment(tmp_path))
    assert run.code == 2 and run.no_traceback(), run.out
    assert "state database" in run.out and server.call_count == 0


def prepare_or_fail(path: str, doc_key: str, index: int, *args: object) -> object:
    """`prepare_page`, except that page 2 of `odd.pdf` raises what nobody expects."""
    if doc_key == "odd.pdf" and index == 1:
        raise ZeroDivisionError("a page no stage was written for")
    return real_prepare(path, doc_key, index, *args)  # type: ignore[arg-type]


real_prepare = page_worker.prepare_page


async def test_an_unexpected_error_on_one_page_lets_the_other_pages_finish_and_bill(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = parse_job(image_job(tmp_path, server, monkeypatch, name="page", documents=1))
    text_pdf(tmp_path / "in" / "odd.pdf", [["Page one"], ["Page two"], ["Page three"]])
    monkeypatch.setattr(document_module, "prepare_page", prepare_or_fail)

    summary = await run_job(spec)
    (key, reason), = summary.failures
    assert key == "odd.pdf" and reason.startswith("page 2: unexpected ZeroDivisionError")
    assert server.call_count == 3  # doc0.png and pages 1 and 3 of odd.pdf, not cancelled
    with sqlite3.connect(tmp_path / "state.db") as conn:
        outcomes = conn.execute("SELECT outcome FROM usage").fetchall()
    assert outcomes == [("billed",)] * 3

    monkeypatch.setattr(document_module, "prepare_page", real_prepare)
    again = await run_job(spec)
    assert again.documents_done == 1 and again.pages_sent == 1 and again.pages_reused == 2


def prepare_or_die_once(path: str, doc_key: str, index: int, *args: object) -> object:
    """`prepare_page`, except that the worker rendering page 2 of `book.pdf` dies
    the first time (a marker file beside the PDF remembers it)."""
    marker = path + ".died"
    if doc_key == "book.pdf" and index == 1 and not os.path.exists(marker):
        Path(marker).touch()
        os._exit(9)
    return real_prepare(path, doc_key, index, *args)  # type: ignore[arg-type]


async def test_a_worker_dying_on_one_page_bills_no_page_twice(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = parse_job(image_job(tmp_path, server, monkeypatch, name="pages", documents=1))
    text_pdf(tmp_path / "in" / "book.pdf", [[f"Page {n}"] for n in range(1, 6)])
    monkeypatch.setattr(document_module, "prepare_page", prepare_or_die_once)

    summary = await run_job(spec)
    assert (tmp_path / "in" / "book.pdf.died").exists()
    assert summary.documents_done == 2 and not summary.failures, summary.failures
    assert server.call_count == 6  # doc0.png and five pages, each sent once
    with sqlite3.connect(tmp_path / "state.db") as conn:
        rows = conn.execute("SELECT doc_key, page_index, outcome FROM usage").fetchall()
    assert sorted(rows) == sorted(
        [("doc0.png", 0, "billed")] + [("book.pdf", n, "billed") for n in range(5)]
    )
