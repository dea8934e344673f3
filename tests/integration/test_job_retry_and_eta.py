"""A retry of a done job runs its failed documents only; a running job's JSON carries the
pages left, its pages/s and an ETA. Job workers in-process against the fake OCR service
(which answers each page with its painted tag), over a real SQLite state store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from pipeline.api.views import job_view
from pipeline.job_worker import JobWorker, WorkerSettings
from pipeline.store import JobQueue, StateConflict, open_store
from pipeline.testing import FakeOcrServer, Reply, tagged_images, tagged_pdf
from tests.integration.test_job_worker import billed, wait_until
from tests.support.jobs import FAKE_AK, FAKE_SK


def spec(tmp: Path, server: FakeOcrServer, name: str) -> dict[str, Any]:
    return {
        "name": name, "source": {"url": str(tmp / name / "in")},
        "ocr": {"endpoint": server.url, "project_id": server.project_id,
                "enterprise_project_id": "finance", "concurrency": 1, "qps": 100},
        "output": {"url": str(tmp / name / "out")},
    }


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "state.db"))
    return tmp_path / "state.db"


async def run_until(queue: JobQueue, job_id: str, tmp: Path, *statuses: str) -> None:
    worker = JobWorker(queue, "w1", WorkerSettings(lease=5, poll=0.05), tmp)
    task = asyncio.create_task(worker.run())

    async def ended() -> bool:
        record = await queue.get(job_id)
        return record is not None and record.status in statuses

    try:
        await wait_until(ended, f"job {job_id} {'/'.join(statuses)}")
    finally:
        worker.stop()
        await task


@pytest.mark.slow  # two runs, each starting its worker pool (measured 14 s on 2 busy cores)
async def test_retry_runs_the_failed_documents_only(
        tmp_path: Path, env: Path, server: FakeOcrServer) -> None:
    inputs = tmp_path / "mixed" / "in"
    tagged_images(inputs, ["good-a", "good-b"])
    (inputs / "broken.png").write_text("not an image yet\n")
    store = await open_store()
    queue = JobQueue(store)
    job, _ = await queue.submit(name="mixed", enterprise_project="finance",
                                spec=spec(tmp_path, server, "mixed"))
    await run_until(queue, job.id, tmp_path, "done")
    first = await queue.get(job.id)
    assert first is not None and first.exit_code == 1 and first.summary is not None
    assert (first.summary["documents_done"], first.summary["documents_failed"]) == (2, 1)
    assert server.call_count == 2

    # the broken file is mended, and a done one changed: the retry takes the broken one only
    tagged_images(inputs, ["broken"])
    tagged_images(inputs, ["good-a"], size=(700, 500))
    queued = await queue.retry(job.id)
    assert queued.status == "queued" and queued.run_scope == "failed"
    assert job_view(queued)["scope"] == "failed"
    await run_until(queue, job.id, tmp_path, "done")
    second = await queue.get(job.id)
    assert second is not None and second.exit_code == 0 and second.run_scope is None
    assert second.summary is not None
    # the done documents were not listed again: neither done, nor skipped, nor sent
    assert second.summary["documents_done"] == 1
    assert second.summary["documents_skipped"] == 0
    assert server.call_count == 3
    assert await billed(str(env), "finance/mixed") == {
        "good-a.png": 1, "good-b.png": 1, "broken.png": 1}
    text = (tmp_path / "mixed" / "out" / "broken.png.txt").read_text()
    assert "broken" in text
    progress = await queue.progress("finance/mixed")
    assert progress.documents == {"done": 3}

    # nothing failed now: a retry has nothing to do and says so
    with pytest.raises(StateConflict, match="nothing to retry"):
        await queue.retry(job.id)
    await store.close()


@pytest.mark.slow  # two runs (measured 9 s on 2 busy cores)
async def test_retry_of_a_failed_job_runs_it_whole_and_resumes(
        tmp_path: Path, env: Path, server: FakeOcrServer) -> None:
    store = await open_store()
    queue = JobQueue(store)
    job, _ = await queue.submit(name="late", enterprise_project="finance",
                                spec=spec(tmp_path, server, "late"))
    await run_until(queue, job.id, tmp_path, "failed")  # the source folder is not there yet
    tagged_images(tmp_path / "late" / "in", ["late-1", "late-2"])
    queued = await queue.retry(job.id)
    assert queued.run_scope is None
    await run_until(queue, job.id, tmp_path, "done")
    record = await queue.get(job.id)
    assert record is not None and record.summary is not None
    assert record.summary["documents_done"] == 2 and server.call_count == 2
    await store.close()


@pytest.mark.slow  # 2 s and more: pages answered slowly so that the run is seen midway
async def test_a_running_job_shows_pages_left_its_rate_and_an_eta(
        tmp_path: Path, env: Path) -> None:
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK},
                             default=Reply.ok(delay=0.15)) as server:
        tagged_pdf(tmp_path / "long" / "in" / "book.pdf", [f"p{n}" for n in range(16)],
                   size=(320, 240))
        store = await open_store()
        queue = JobQueue(store)
        job, _ = await queue.submit(name="long", enterprise_project="finance",
                                    spec=spec(tmp_path, server, "long"))
        queued = job_view(job, await queue.progress(job.run_key))
        assert queued["pages"]["eta_seconds"] is None and queued["pages"]["left"] == 0
        worker = JobWorker(queue, "w1", WorkerSettings(lease=5, poll=0.05), tmp_path)
        task = asyncio.create_task(worker.run())
        seen: list[dict[str, Any]] = []

        async def midway() -> bool:
            record = await queue.get(job.id)
            assert record is not None
            view = job_view(record, await queue.progress(record.run_key, record.run_started_at))
            if record.status == "running" and view["pages"]["done"] >= 4:
                seen.append(view)
            return len(seen) > 0

        try:
            await wait_until(midway, "four pages done")
        finally:
            worker.stop()
            await task
        pages = seen[0]["pages"]
        assert pages["done"] + pages["left"] == 16 and pages["left"] > 0
        assert pages["per_second"] > 0
        assert pages["eta_seconds"] == pytest.approx(pages["left"] / pages["per_second"],
                                                     abs=0.1)
        stopped = await queue.get(job.id)  # the worker stopped: queued again, no ETA
        assert stopped is not None and stopped.status == "queued"
        view = job_view(stopped, await queue.progress(stopped.run_key))
        assert view["pages"]["eta_seconds"] is None
        await store.close()


@pytest.mark.slow  # 2 s and more: pages answered slowly so that the run is seen midway
async def test_the_eta_counts_the_documents_not_opened_yet(tmp_path: Path, env: Path) -> None:
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK},
                             default=Reply.ok(delay=0.15)) as server:
        tagged_images(tmp_path / "many" / "in", [f"m{n:02}" for n in range(12)],
                      size=(320, 240))
        store = await open_store()
        queue = JobQueue(store)
        job, _ = await queue.submit(name="many", enterprise_project="finance",
                                    spec=spec(tmp_path, server, "many"))
        worker = JobWorker(queue, "w1", WorkerSettings(lease=5, poll=0.05), tmp_path)
        task = asyncio.create_task(worker.run())
        seen: list[dict[str, Any]] = []

        async def midway() -> bool:
            record = await queue.get(job.id)
            assert record is not None
            view = job_view(record, await queue.progress(record.run_key, record.run_started_at))
            if record.status == "running" and 3 <= view["pages"]["done"] <= 8 and (
                    view["documents"]["listed"] is not None):
                seen.append(view)
            return len(seen) > 0

        try:
            await wait_until(midway, "three pages done and the listing counted")
        finally:
            worker.stop()
            await task
            await store.close()
        view = seen[0]
        assert view["documents"]["listed"] == 12
        # one page a document: what is left is about the documents not done yet, though
        # only a few of them have been opened (a document being opened may not count yet)
        done, left = view["pages"]["done"], view["pages"]["left"]
        assert 12 - done - 2 <= left <= 12 - done, view["pages"]
        assert view["pages"]["eta_seconds"] == pytest.approx(left / view["pages"]["per_second"],
                                                             abs=0.1)
