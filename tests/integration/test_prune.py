"""`ocrpipe db prune` (issue 17): old settled ledger rows and finished pages go, on
SQLite and PostgreSQL; unsettled ledger rows, rows of a running job and recent rows stay;
the billing file moves the cutoff back while a package can still pay.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, insert, select

from pipeline.cli import main
from pipeline.store import Store, open_store
from pipeline.store.billing_tables import deductions, run_regions
from pipeline.store.retention import prune
from pipeline.store.schema import documents, job_leases, pages, runs, usage

OLD = dt.datetime(2025, 1, 10, tzinfo=dt.UTC)
NEW = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
CUTOFF = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


async def _fill(store: Store) -> None:
    """Job 'old' (finished long ago), job 'live' (running, with rows as old) and job
    'recent' (finished after the cutoff): each a run, documents with pages, ledger rows."""
    async with store.engine.begin() as conn:
        for n, (job, at, status) in enumerate((("old", OLD, "done"), ("live", OLD, "running"),
                                               ("recent", NEW, "done")), start=1):
            await conn.execute(insert(runs).values(id=n, job=job, started_at=at, status=status,
                                                   finished_at=None if status == "running"
                                                   else at))
            await conn.execute(insert(run_regions).values(run_id=n, region="cn-north-4"))
            for d, doc_status in enumerate(("done", "failed", "pending")):
                doc_id = n * 10 + d
                await conn.execute(insert(documents).values(
                    id=doc_id, job=job, key=f"{doc_status}.pdf", change_token="t",
                    status=doc_status, outputs="[]", updated_at=at))
                await conn.execute(insert(pages), [dict(
                    document_id=doc_id, page_index=i, change_token="t", result="{}",
                    request_id=None, done_at=at) for i in range(2)])
            for a, outcome in enumerate(("billed", "failed", "saved", "unknown", "pending")):
                usage_id = n * 10 + a
                await conn.execute(insert(usage).values(
                    id=usage_id, run_id=n, job=job, doc_key="done.pdf", page_index=a,
                    enterprise_project="p", api="general-text", attempt=1, bytes_sent=1,
                    outcome=outcome, started_at=at, day=at.date().isoformat()))
                await conn.execute(insert(deductions).values(
                    usage_id=usage_id, paid_by="package", month=f"{at:%Y-%m}"))


async def _counts(store: Store) -> dict[str, Any]:
    async with store.engine.connect() as conn:
        async def by_job(table: Any, column: Any) -> dict[str, int]:
            rows = await conn.execute(select(column, func.count()).select_from(table)
                                      .group_by(column))
            return {job: count for job, count in rows.all()}
        return {
            "usage": await by_job(usage, usage.c.job),
            "usage_outcomes_old": sorted((await conn.execute(
                select(usage.c.outcome).where(usage.c.job == "old"))).scalars()),
            "pages": await by_job(pages.join(documents), documents.c.job),
            "documents": await by_job(documents, documents.c.job),
            "runs": sorted((await conn.execute(select(runs.c.job))).scalars()),
            "deductions": (await conn.execute(select(func.count()).select_from(deductions)))
            .scalar_one(),
            "run_regions": (await conn.execute(select(func.count()).select_from(run_regions)))
            .scalar_one(),
        }


async def test_prune_removes_old_settled_rows_and_keeps_the_rest(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        await _fill(store)
        before = await _counts(store)
        would = await prune(store, CUTOFF, dry_run=True)
        assert await _counts(store) == before  # a dry run removes nothing
        done = await prune(store, CUTOFF, batch=2)  # several batches
        after = await _counts(store)
    finally:
        await store.close()
    # job 'old': its billed/failed/saved ledger rows and the pages of its finished
    # documents go; the unknown and pending rows stay, and so does its run (they point at it)
    assert after["usage_outcomes_old"] == ["pending", "unknown"]
    assert after["usage"] == {"old": 2, "live": 5, "recent": 5}
    assert after["pages"] == {"old": 2, "live": 6, "recent": 6}  # 'pending' doc's pages stay
    assert after["documents"] == before["documents"]  # without --documents
    assert after["runs"] == ["live", "old", "recent"]
    assert after["deductions"] == before["deductions"] - 3
    assert (done.usage, done.deductions, done.pages, done.documents, done.runs) == (3, 3, 4, 0, 0)
    assert (done.kept_unsettled, done.kept_running) == (4, 3)  # old+live unknown/pending; live
    assert (would.usage, would.deductions, would.pages) == (done.usage, done.deductions,
                                                            done.pages)


async def test_prune_with_documents_removes_finished_documents_and_spent_runs(
    store_url: str,
) -> None:
    store = await open_store(store_url)
    try:
        await _fill(store)
        async with store.engine.begin() as conn:  # the old run's unsettled rows, settled
            await conn.execute(usage.update().where(usage.c.job == "old")
                               .values(outcome="failed"))
            # a lease: 'live' is running even once its run row says otherwise
            await conn.execute(runs.update().values(status="crashed"))
            await conn.execute(insert(job_leases).values(job="live", holder="h", pid=1,
                                                         host="x", since=0.0, heartbeat=0.0))
        done = await prune(store, CUTOFF, documents_too=True)
        after = await _counts(store)
    finally:
        await store.close()
    assert after["documents"] == {"old": 1, "live": 3, "recent": 3}  # 'pending' stays
    assert after["usage"] == {"live": 5, "recent": 5}
    assert after["runs"] == ["live", "recent"]  # no ledger row points at 'old' now
    assert after["run_regions"] == 2
    assert (done.usage, done.documents, done.runs) == (5, 2, 1)


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["db", "prune", *args])


@pytest.mark.parametrize("package", [False, True])
async def test_the_cli_prunes_by_months_kept_and_the_billing_file_moves_the_cutoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: bool,
) -> None:
    path = tmp_path / "state.db"
    store = await open_store(str(path))
    try:
        await _fill(store)
    finally:
        await store.close()
    monkeypatch.delenv("OCRPIPE_BILLING", raising=False)
    if package:  # a package effective since 2024 and still paying keeps the 2025 rows
        (tmp_path / "billing.toml").write_text(
            '[[package]]\nid = "big"\napi = "general-text"\nregion = "cn-north-4"\n'
            'calls = 1000000\neffective = 2024-06-15\nexpires = 2099-12-31\n'
            'created = 2024-06-01\n', encoding="utf-8")
    monkeypatch.setenv("OCRPIPE_RETENTION_MONTHS", "3")
    result = await asyncio.to_thread(cli, "--state", str(path))
    assert result.exit_code == 0, result.output
    if package:
        assert "package 'big' (2024-06-15 to 2099-12-31) can still pay" in result.output
        assert "from before 2024-06-01" in result.output and "removed 0 ledger" in result.output
    else:
        assert "removed 3 ledger, 3 deductions, 4 pages, 0 documents" in result.output
        assert "kept: 4 ledger rows still pending or unknown" in result.output


def test_the_cli_asks_for_a_cutoff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCRPIPE_RETENTION_MONTHS", raising=False)
    result = cli("--state", str(tmp_path / "s.db"))
    assert result.exit_code == 2 and "give --before YYYY-MM-DD or --keep-months N" in \
        result.output
    result = cli("--state", str(tmp_path / "s.db"), "--before", "last week")
    assert result.exit_code == 2 and "'last week' is not a day" in result.output
