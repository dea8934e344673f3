"""A queued job run by a job worker takes this process's share of its qps and
concurrency: the share seam (pipeline/ocr/shares.py) reaches the client `LazyOcr` makes
for the run. With three other live processes holding the job, its `concurrency = 4`
is 1 here: the fake OCR server never sees two of its calls at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.fleet.share import FleetShares
from pipeline.job_worker import JobWorker, WorkerSettings
from pipeline.store import JobQueue, open_store
from pipeline.testing import FakeOcrServer, Reply
from tests.integration.test_job_worker import job_data, wait_until
from tests.support.jobs import FAKE_AK, FAKE_SK, job_done, worker_running


async def run_one_job(tmp: Path, others: int) -> int:
    """Run one job (8 pages, concurrency 4) with `others` processes holding it too; the
    most calls the server had in flight at once."""
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK},
                             default=Reply.ok(delay=0.2)) as server:
        store = await open_store()
        try:
            queue = JobQueue(store)
            data = job_data(tmp, server, f"shared{others}", 8)
            data["ocr"]["concurrency"] = 4
            job, _ = await queue.submit(name=f"shared{others}", enterprise_project="finance",
                                        spec=data)
            shares = FleetShares()
            shares.update({job.run_key: others})
            shares.use()  # as worker_process does for the process's job workers
            worker = JobWorker(queue, "w1", WorkerSettings(lease=5, poll=0.05), tmp)
            async with worker_running(worker):
                await wait_until(lambda: job_done(queue, job.id), "the job done")
        finally:
            await store.close()
        assert server.call_count == 8
        return server.max_in_flight


@pytest.mark.slow  # 2 s and more (measured)
async def test_a_job_held_by_four_processes_sends_a_quarter_of_its_concurrency_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "state.db"))
    assert await run_one_job(tmp_path, others=3) == 1
    assert await run_one_job(tmp_path, others=0) > 1  # alone: more than one at once
