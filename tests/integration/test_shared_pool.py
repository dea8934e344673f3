"""One worker pool for every job of a process (`ocrpipe up`): the jobs' documents are
read by the same warm worker processes, and a worker that dies in one job's document
leaves the pool renewed, the other job done."""

from __future__ import annotations

import asyncio
import os
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from pipeline import document as document_module
from pipeline.job_worker import JobWorker, WorkerSettings
from pipeline.leftovers import process_temp_folder
from pipeline.render import inspect_document
from pipeline.shared_pool import SharedPool, run_pool
from pipeline.store import JobQueue, open_store
from pipeline.testing import FakeOcrServer, tagged_images
from tests.integration.test_job_worker import billed, wait_until
from tests.support.jobs import FAKE_AK, FAKE_SK, job_done, worker_running


def inspect_noting_the_worker(path: str, password: str | None = None) -> object:
    """`inspect_document`, which also writes the worker's pid beside the file; a file
    named `crash*` kills its worker instead."""
    if os.path.basename(path).startswith("crash"):
        os._exit(9)
    Path(path + ".pid").write_text(str(os.getpid()))
    return inspect_document(path, password=password)


def spec(tmp: Path, server: FakeOcrServer, name: str) -> dict[str, Any]:
    return {"name": name, "source": {"url": str(tmp / name), "include": ["*.bmp"]},
            "ocr": {"endpoint": server.url, "project_id": server.project_id,
                    "enterprise_project_id": "finance", "concurrency": 1, "qps": 100},
            "output": {"url": str(tmp / "out" / name)}}


@pytest.mark.slow  # spawns worker processes, one of which dies (measured 14 s)
async def test_jobs_share_one_warm_pool_that_survives_a_dead_worker(
        tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "state.db"))
    monkeypatch.setattr(document_module, "inspect_document", inspect_noting_the_worker)
    # BMP: a small PNG or JPEG is read in the main process (light_pages.py), never in a worker
    tagged_images(tmp_path / "first", ["first-0", "first-1", "crash"], fmt="bmp")
    tagged_images(tmp_path / "second", ["second-0", "second-1"], fmt="bmp")
    shared = SharedPool(workers=1)

    async def scenario() -> None:
        shared.use()  # as `up` does: the worker's runs inherit it
        store = await open_store()
        queue = JobQueue(store)
        first, _ = await queue.submit(name="first", enterprise_project="finance",
                                      spec=spec(tmp_path, server, "first"))
        worker = JobWorker(queue, "w1", WorkerSettings(lease=30, poll=0.05), tmp_path)
        try:
            async with worker_running(worker):
                await wait_until(lambda: job_done(queue, first.id), "the first job done")
                second, _ = await queue.submit(name="second", enterprise_project="finance",
                                               spec=spec(tmp_path, server, "second"))
                await wait_until(lambda: job_done(queue, second.id), "the second job done")
        finally:
            await store.close()

    try:
        with process_temp_folder():  # as `up`: the pool's workers outlive every run
            await asyncio.create_task(scenario())
        pool = shared.pool()
        assert shared.started == 1 and pool.generation == 1  # renewed once, for the crash
        # the second job's documents went to the renewed pool's one worker, still alive
        # after the job ended (a pool of the run's own would have stopped with it)
        pids = {int((tmp_path / "second" / f"second-{n}.bmp.pid").read_text())
                for n in range(2)}
        alive = await asyncio.get_running_loop().run_in_executor(pool, os.getpid)
        assert pids == {alive} and alive != os.getpid()
    finally:
        await asyncio.to_thread(shared.close)
    db = str(tmp_path / "state.db")
    assert await billed(db, "finance/first") == {"first-0.bmp": 1, "first-1.bmp": 1}
    assert await billed(db, "finance/second") == {"second-0.bmp": 1, "second-1.bmp": 1}
    assert (tmp_path / "out" / "second" / "second-1.bmp.txt").is_file()


async def test_without_use_each_run_gets_a_pool_of_its_own() -> None:
    async with AsyncExitStack() as stack:
        own = run_pool(stack, 1)
        assert await asyncio.get_running_loop().run_in_executor(own, os.getpid) != os.getpid()
    with pytest.raises(RuntimeError):  # stopped with the run's exit stack
        own.submit(os.getpid)
