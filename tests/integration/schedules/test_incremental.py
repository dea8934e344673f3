"""Scheduled runs are ordinary jobs of the schedule's name: a job worker runs them against
the fake OCR server, and the second due time sends only the document that is new; its
summary counts the unchanged ones."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.job_worker import JobWorker, WorkerSettings
from pipeline.schedules.loader import sync_dir
from pipeline.schedules.scheduler import Scheduler
from pipeline.store import JobQueue, JobRecord, open_store
from pipeline.testing import FakeOcrServer, make_page
from tests.support.jobs import FAKE_AK, FAKE_SK


async def run_to_end(queue: JobQueue, job_id: str, base_dir: Path) -> JobRecord:
    """Run the queue with one real job worker until `job_id` has ended."""
    worker = JobWorker(queue, "w1", WorkerSettings(lease=10, poll=0.02), base_dir)
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(60):
            while True:
                job = await queue.get(job_id)
                if job is not None and job.status in ("done", "failed", "cancelled"):
                    break
                await asyncio.sleep(0.02)
    finally:
        worker.stop()
        await task
    return job


@pytest.mark.slow  # a job worker runs two real jobs (about 9 s measured)
async def test_a_second_due_time_sends_only_what_is_new(
        tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    scans, jobs = tmp_path / "scans", tmp_path / "jobs"
    scans.mkdir()
    jobs.mkdir()
    for n in range(3):
        make_page(f"doc{n}", (320, 160)).save(scans / f"doc{n}.png")
    (jobs / "nightly.toml").write_text(
        'name = "nightly"\nschedule = "0 2 * * *"\n[source]\nurl = "../scans"\n'
        f'[ocr]\nendpoint = "{server.url}"\nproject_id = "{server.project_id}"\n'
        'enterprise_project_id = "finance"\n[output]\nurl = "../out"\nformats = ["txt"]\n')
    store = await open_store(f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "state.db"))
    clock_now = [datetime(2026, 3, 1, 12, tzinfo=UTC)]
    try:
        await sync_dir(store, jobs, clock_now[0])
        scheduler, queue = Scheduler(store, "up-1", clock=lambda: clock_now[0]), JobQueue(store)

        clock_now[0] = datetime(2026, 3, 2, 2, 0, 3, tzinfo=UTC)
        [first_id] = await scheduler.tick()
        first = await run_to_end(queue, first_id, tmp_path)
        assert first.status == "done" and first.summary is not None
        assert (first.summary["documents_done"], first.summary["documents_skipped"]) == (3, 0)
        assert sorted(server.echoed) == ["page doc0", "page doc1", "page doc2"]
        assert (tmp_path / "out" / "doc1.png.txt").read_text().strip() == "page doc1"

        make_page("doc3", (320, 160)).save(scans / "doc3.png")
        clock_now[0] = datetime(2026, 3, 3, 2, 0, 3, tzinfo=UTC)
        [second_id] = await scheduler.tick()
        second = await run_to_end(queue, second_id, tmp_path)
        assert second.status == "done" and second.summary is not None
        assert (second.summary["documents_done"], second.summary["documents_skipped"]) == (1, 3)
        assert server.echoed[3:] == ["page doc3"]
    finally:
        await store.close()
