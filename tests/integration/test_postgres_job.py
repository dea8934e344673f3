"""A job on PostgreSQL (issue 17): the same job file, outputs and ledger as on SQLite, a
re-run sends nothing again, and two runs of one job at once never both send a page (the
job lease of pipeline/joblock.py, a row in the shared database).

Each run is `run_job` against the testing kit's fake OCR server; `store_url` runs the
first test on an SQLite file and on a fresh PostgreSQL database (skipped, with the
reason, when no server answers on 127.0.0.1:5432).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from pipeline.config import parse_job
from pipeline.joblock import JobBusy
from pipeline.runner import run_job
from pipeline.store import open_store
from pipeline.testing import FakeOcrServer, make_page
from tests.support.jobs import image_job
from tests.support.outputs import echoed, page_texts

DOCUMENTS = 3
TAGS = [f"doc{n}" for n in range(DOCUMENTS)]


async def billed(url: str, job: str) -> list[dict[str, object]]:
    store = await open_store(url)
    try:
        return await store.usage_summary(job)
    finally:
        await store.close()


@pytest.mark.slow  # worker processes render the pages: a few seconds per run
async def test_a_job_runs_alike_on_sqlite_and_postgresql(
    store_url: str, tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = parse_job(image_job(tmp_path, server, monkeypatch, name="alike", documents=DOCUMENTS))
    monkeypatch.setenv("OCRPIPE_DB", store_url)
    summary = await run_job(spec)
    assert summary.failures == () and summary.documents_done == DOCUMENTS
    assert sorted(server.echoed) == echoed(TAGS)
    for tag in TAGS:
        assert page_texts(tmp_path / "out", f"{tag}.png") == echoed([tag])
    (row,) = await billed(store_url, "alike")
    assert (row["billed"], row["pages"], row["failed"], row["unknown"]) == (DOCUMENTS,) * 2 + (0, 0)

    again = await run_job(spec)
    assert again.pages_sent == 0 and again.documents_done + again.documents_skipped == DOCUMENTS
    assert server.call_count == DOCUMENTS


@pytest.mark.slow
async def test_two_runs_of_one_job_at_once_on_postgresql_send_each_page_once(
    postgres_url: str, tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = image_job(tmp_path, server, monkeypatch, name="twice", documents=DOCUMENTS)
    spec = parse_job(job)
    monkeypatch.setenv("OCRPIPE_DB", postgres_url)
    results = await asyncio.gather(run_job(spec), run_job(spec), return_exceptions=True)
    busy = [r for r in results if isinstance(r, JobBusy)]
    done = [r for r in results if not isinstance(r, BaseException)]
    assert len(busy) == 1 and len(done) == 1, results
    assert "already running" in str(busy[0]) and "--wait" in str(busy[0])
    assert done[0].documents_done == DOCUMENTS

    # a new job on other pages, both runs told to wait: the second waits for the first,
    # then finds every page done; each page was sent once
    other = tmp_path / "other"
    other.mkdir()
    for n in range(DOCUMENTS):
        make_page(f"other{n}", (320, 160)).save(other / f"other{n}.png")
    waited = parse_job(job.replace('name = "twice"', 'name = "waited"')
                       .replace(str(tmp_path / "in"), str(other)))
    first, second = await asyncio.gather(run_job(waited, wait=True), run_job(waited, wait=True))
    assert sorted([first.pages_sent, second.pages_sent]) == [0, DOCUMENTS]
    assert Counter(server.echoed) == Counter(echoed(TAGS + [f"other{n}" for n in range(3)]))
    for name in ("twice", "waited"):
        (row,) = await billed(postgres_url, name)
        assert row["billed"] == DOCUMENTS and row["pages"] == DOCUMENTS
