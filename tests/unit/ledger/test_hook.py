"""The ledger hook on its own, over SQLite: an attempt is written before it is sent, a
failed or unknown outcome at once, and a billed one only with the page's result."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pipeline.ledger import LedgerHook
from pipeline.models import Block, OcrRequest, OcrResult, PageResult, SourceObject
from pipeline.store import open_store


def rows(db: Path) -> list[tuple[str, int, int, str, int | None, str | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT doc_key, page_index, attempt, outcome, http_status, error_code FROM usage"
            " ORDER BY id"
        ).fetchall()


def request(page: int) -> OcrRequest:
    return OcrRequest("scan.pdf", page, "aGVsbG8=", 10, 10)


async def test_attempts_are_written_before_sending_and_billed_ones_with_the_page(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    store = await open_store(str(db))
    try:
        run_id = await store.start_run("ledger")
        hook = LedgerHook(store, job="ledger", run_id=run_id, enterprise_project="finance")
        throttled = await hook.started(request(0), 1)
        assert rows(db) == [("scan.pdf", 0, 1, "pending", None, None)]  # before sending
        await hook.finished(throttled, outcome="failed", http_status=429,
                            error_code="APIG.0308", request_id=None, latency_ms=3.0)
        billed = await hook.started(request(0), 2)
        await hook.finished(billed, outcome="billed", http_status=200, error_code=None,
                            request_id="r-1", latency_ms=4.0)
        lost = await hook.started(request(1), 1)
        await hook.finished(lost, outcome="unknown", http_status=None, error_code=None,
                            request_id=None, latency_ms=60000.0)
        # the billed attempt waits for its page
        assert rows(db) == [
            ("scan.pdf", 0, 1, "failed", 429, "APIG.0308"),
            ("scan.pdf", 0, 2, "pending", None, None),
            ("scan.pdf", 1, 1, "unknown", None, None),
        ]
        assert hook.billed_calls == 1
        assert hook.take_billed("scan.pdf", 1) == []  # page 1 was never billed

        attempts = hook.take_billed("scan.pdf", 0)
        assert len(attempts) == 1 and hook.take_billed("scan.pdf", 0) == []  # taken once
        doc = await store.begin_document("ledger", SourceObject("scan.pdf", "/scan.pdf", 1))
        page = PageResult(0, OcrResult((Block("page one", ((0, 0),) * 4, 0.9),), 10, 10))
        await store.save_page(doc, page, change_token=None, attempts=attempts)
        assert rows(db)[1] == ("scan.pdf", 0, 2, "billed", 200, None)
        (summary,) = await store.usage_summary("ledger", run_id=run_id)
        assert summary["enterprise_project"] == "finance"
        assert (summary["billed"], summary["failed"], summary["unknown"]) == (1, 1, 1)
    finally:
        await store.close()
