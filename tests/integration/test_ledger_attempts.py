"""Every OCR attempt is its own ledger row to the end (issue 10, class 11; DESIGN.md
invariant 2). A 2xx answer cut off mid-body was billed by the provider: when the retry
succeeds, both billed attempts are in the ledger, none left pending or "unknown"."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.config import parse_job
from pipeline.runner import run_job
from pipeline.store import open_store
from pipeline.testing import FakeOcrServer, Reply
from tests.support.jobs import image_job


def attempts(db: Path) -> list[tuple[str, int, int, str, int | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT doc_key, page_index, attempt, outcome, http_status FROM usage "
            "ORDER BY id"
        ).fetchall()


async def test_a_cut_off_2xx_then_a_good_retry_is_two_billed_rows(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = parse_job(image_job(tmp_path, server, monkeypatch, name="cut", documents=1))
    server.script(Reply.cut(), Reply.cut())  # two cut answers, then the default success
    summary = await run_job(spec)

    assert summary.documents_done == 1 and server.call_count == 3
    assert summary.billed_calls == {"default": 3}
    assert attempts(tmp_path / "state.db") == [
        ("doc0.png", 0, 1, "billed", 200),
        ("doc0.png", 0, 2, "billed", 200),
        ("doc0.png", 0, 3, "billed", 200),
    ]
    store = await open_store(str(tmp_path / "state.db"))
    try:
        await store.start_run("cut")  # a later run turns leftover 'pending' into 'unknown'
        (row,) = await store.usage_summary("cut")
    finally:
        await store.close()
    assert row["billed"] == 3 and row["unknown"] == 0 and row["pages"] == 1


async def test_a_billed_attempt_of_a_page_that_then_fails_is_still_recorded(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = parse_job(image_job(tmp_path, server, monkeypatch, name="cut-fail", documents=1))
    server.script(Reply.cut(), Reply.error(400, "AIS.0103", "image size out of range"))
    summary = await run_job(spec)

    assert summary.documents_failed == 1 and summary.billed_calls == {"default": 1}
    assert [row[3] for row in attempts(tmp_path / "state.db")] == ["billed", "failed"]
