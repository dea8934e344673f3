"""Job workers in-process against the fault-injecting fake OCR service: a claimed job runs
to `done`; a cancel through the queue stops it with the calls in flight finished; a worker
stopped mid-job puts it back to `queued` and the next run resumes without re-sending."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import and_, func, select

from pipeline.embedded import SharedEmbedded
from pipeline.job_worker import JobWorker, WorkerSettings
from pipeline.store import JobQueue, open_store
from pipeline.store.schema import usage
from pipeline.testing import FakeOcrServer, Reply
from tests.support.inputs import text_page
from tests.support.jobs import FAKE_AK, FAKE_SK, job_done, worker_running


def job_data(tmp: Path, server: FakeOcrServer, name: str, documents: int,
             project: str = "finance") -> dict[str, Any]:
    inputs = tmp / name / "in"
    inputs.mkdir(parents=True)
    for n in range(documents):
        text_page([f"{name} {n}"], size=(320, 120)).save(inputs / f"doc{n}.png")
    return {
        "name": name, "source": {"url": str(inputs)},
        "ocr": {"endpoint": server.url, "project_id": server.project_id,
                "enterprise_project_id": project, "concurrency": 1, "qps": 100},
        "output": {"url": str(tmp / name / "out")},
    }


@pytest.fixture
def env(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The state database (SQLite and PostgreSQL) and the fake server's key pair."""
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    monkeypatch.setenv("OCRPIPE_DB", store_url)
    return store_url


async def billed(db: str, key: str) -> dict[str, int]:
    store = await open_store(db)
    try:
        async with store.engine.connect() as conn:
            rows = await conn.execute(
                select(usage.c.doc_key, func.count()).where(and_(
                    usage.c.job == key, usage.c.outcome == "billed"
                )).group_by(usage.c.doc_key))
            return {row[0]: row[1] for row in rows}
    finally:
        await store.close()


async def wait_until(predicate: Any, what: str) -> None:
    """Poll `predicate` until true; fails after 120 s saying what did not happen."""
    try:
        async with asyncio.timeout(120):
            while True:
                if await predicate():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


@pytest.mark.slow  # 2 s and more (measured)
async def test_a_worker_runs_the_queue_by_priority(tmp_path: Path, env: str,
                                                   server: FakeOcrServer) -> None:
    store = await open_store()
    queue = JobQueue(store)
    low, _ = await queue.submit(name="low", enterprise_project="finance",
                                spec=job_data(tmp_path, server, "low", 2))
    high, _ = await queue.submit(name="high", enterprise_project="finance", priority=5,
                                 spec=job_data(tmp_path, server, "high", 2))
    worker = JobWorker(queue, "w1", WorkerSettings(lease=5, poll=0.05), tmp_path)
    task = asyncio.create_task(worker.run())

    async def both_done() -> bool:
        jobs = [await queue.get(low.id), await queue.get(high.id)]
        return all(j is not None and j.status == "done" for j in jobs)

    try:
        await wait_until(both_done, "both jobs done")
    finally:
        worker.stop()
        await task
    high_done, low_done = await queue.get(high.id), await queue.get(low.id)
    assert high_done and low_done
    assert high_done.exit_code == 0 and high_done.summary is not None
    assert high_done.summary["documents_done"] == 2
    assert high_done.started_at and low_done.started_at
    assert high_done.started_at < low_done.started_at  # priority first
    assert await billed(env, "finance/high") == {"doc0.png": 1, "doc1.png": 1}
    assert sorted(p.name for p in (tmp_path / "low" / "out").iterdir()) == [
        "doc0.png.json", "doc0.png.txt", "doc1.png.json", "doc1.png.txt"]
    await store.close()


@pytest.mark.slow  # 2 s and more (measured)
async def test_cancel_stops_a_running_job_after_the_calls_in_flight(
        tmp_path: Path, env: str) -> None:
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK},
                             default=Reply.ok(delay=0.3)) as server:
        store = await open_store()
        queue = JobQueue(store)
        job, _ = await queue.submit(name="long", enterprise_project="finance",
                                    spec=job_data(tmp_path, server, "long", 20))
        worker = JobWorker(queue, "w1", WorkerSettings(lease=3, poll=0.05), tmp_path)
        task = asyncio.create_task(worker.run())

        async def some_calls() -> bool:
            return server.call_count >= 3

        async def cancelled() -> bool:
            record = await queue.get(job.id)
            return record is not None and record.status == "cancelled"

        try:
            await wait_until(some_calls, "three calls")
            assert (await queue.cancel(job.id)).status == "cancelling"
            await wait_until(cancelled, "the job cancelled")
        finally:
            worker.stop()
            await task
        progress = await queue.progress("finance/long")
        # every call sent was answered and billed, and each billed page is saved
        assert progress.calls == {"billed": server.call_count}
        assert progress.pages_done == server.call_count < 20
        assert server.in_flight == 0
        await store.close()


@pytest.mark.slow  # 2 s and more (measured)
async def test_a_stopped_worker_requeues_and_the_next_run_resumes(
        tmp_path: Path, env: str) -> None:
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK},
                             default=Reply.ok(delay=0.2)) as server:
        store = await open_store()
        queue = JobQueue(store)
        job, _ = await queue.submit(name="resume", enterprise_project="legal",
                                    spec=job_data(tmp_path, server, "resume", 8, "legal"))
        first = JobWorker(queue, "w1", WorkerSettings(lease=3, poll=0.05), tmp_path)
        task = asyncio.create_task(first.run())

        async def some_calls() -> bool:
            return server.call_count >= 3

        await wait_until(some_calls, "three calls")
        first.stop()
        await task
        record = await queue.get(job.id)
        assert record is not None and record.status == "queued" and record.lease_owner is None
        sent_before = server.call_count

        second = JobWorker(queue, "w2", WorkerSettings(lease=3, poll=0.05), tmp_path)
        async with worker_running(second):
            await wait_until(lambda: job_done(queue, job.id), "the job done")
        assert server.call_count == 8 and sent_before < 8  # nothing sent twice
        assert await billed(env, "legal/resume") == {f"doc{n}.png": 1 for n in range(8)}
        record = await queue.get(job.id)
        assert record is not None and record.attempts == 2
        await store.close()


async def test_an_expired_lease_is_claimed_again(tmp_path: Path, env: str) -> None:
    store = await open_store()
    queue = JobQueue(store)
    job, _ = await queue.submit(name="x", enterprise_project="finance", spec={"name": "x"})
    twin, _ = await queue.submit(name="x", enterprise_project="finance", spec={"name": "x"})
    claimed = await queue.claim("dead-worker", lease=0.2)
    assert claimed is not None and claimed.id == job.id
    # the same name and project waits while the first run's lease holds
    assert await queue.claim("w2", lease=30) is None
    await asyncio.sleep(0.3)
    again = await queue.claim("w2", lease=30)
    assert again is not None and again.id == job.id and again.attempts == 2
    assert await queue.renew(job.id, "dead-worker", 30) is None  # the old holder lost it
    assert not await queue.finish(job.id, "dead-worker", status="done")
    assert await queue.finish(job.id, "w2", status="done", exit_code=0)
    nxt = await queue.claim("w2", lease=30)
    assert nxt is not None and nxt.id == twin.id
    await store.close()


@pytest.mark.slow  # 2 s and more (measured)
async def test_jobs_share_one_embedded_service(tmp_path: Path, env: str) -> None:
    shared = SharedEmbedded(workers=1)
    shared.use()  # as `ocrpipe up` does: the workers' runs inherit it
    store = await open_store()
    queue = JobQueue(store)
    ids = []
    for name in ("one", "two"):
        inputs = tmp_path / name
        inputs.mkdir()
        text_page([f"Shared {name}"], size=(600, 160)).save(inputs / "page.png")
        job, _ = await queue.submit(name=name, enterprise_project="finance", spec={
            "name": name, "source": {"url": str(inputs)}, "ocr": {"endpoint": "embedded"},
            "output": {"url": str(tmp_path / "out" / name)}})
        ids.append(job.id)
    worker = JobWorker(queue, "w1", WorkerSettings(lease=30, poll=0.05), tmp_path)
    task = asyncio.create_task(worker.run())

    async def both_done() -> bool:
        records = [await queue.get(i) for i in ids]
        for r in records:
            assert r is not None and r.status != "failed", r
        return all(r is not None and r.status == "done" and r.exit_code == 0 for r in records)

    try:
        await wait_until(both_done, "both embedded jobs")
    finally:
        worker.stop()
        await task
        await shared.aclose()
        await store.close()
    assert shared.started == 1
    for name in ("one", "two"):
        text = (tmp_path / "out" / name / "page.png.txt").read_text()
        assert f"Shared {name}".lower() in text.lower()


async def test_a_job_whose_source_is_gone_fails_with_the_reason(
        tmp_path: Path, env: str, server: FakeOcrServer) -> None:
    store = await open_store()
    queue = JobQueue(store)
    gone, _ = await queue.submit(name="gone", enterprise_project="finance",
                                 spec=job_data(tmp_path, server, "gone", 1))
    fine, _ = await queue.submit(name="fine", enterprise_project="finance",
                                 spec=job_data(tmp_path, server, "fine", 1))
    for file in (tmp_path / "gone" / "in").iterdir():
        file.unlink()
    (tmp_path / "gone" / "in").rmdir()
    worker = JobWorker(queue, "w1", WorkerSettings(lease=5, poll=0.05), tmp_path)
    task = asyncio.create_task(worker.run())

    async def both_ended() -> bool:
        records = [await queue.get(gone.id), await queue.get(fine.id)]
        return all(r is not None and r.status in ("done", "failed") for r in records)

    try:
        await wait_until(both_ended, "both jobs to end")
    finally:
        worker.stop()
        await task
    failed, done = await queue.get(gone.id), await queue.get(fine.id)
    assert failed is not None and done is not None
    assert failed.status == "failed" and failed.exit_code == 2
    assert failed.error is not None and str(tmp_path / "gone" / "in") in failed.error
    assert done.status == "done" and done.exit_code == 0  # the other job went on
    await store.close()


async def test_projects_take_turns_at_equal_priority(tmp_path: Path, env: str) -> None:
    store = await open_store()
    queue = JobQueue(store)
    a = [(await queue.submit(name=f"a{n}", enterprise_project="alpha", spec={}))[0]
         for n in range(3)]
    b, _ = await queue.submit(name="b", enterprise_project="beta", spec={})
    urgent, _ = await queue.submit(name="u", enterprise_project="alpha", spec={}, priority=1)
    order = []
    for n in range(5):
        claimed = await queue.claim(f"w{n}", lease=30)
        assert claimed is not None
        order.append(claimed.id)
    # priority first; then beta's job before alpha's older ones, as alpha already runs one
    assert order == [urgent.id, b.id, a[0].id, a[1].id, a[2].id]
    await store.close()


async def test_refused_credentials_fail_the_job_with_exit_code_3(
        tmp_path: Path, env: str, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", "not-the-right-secret")
    store = await open_store()
    queue = JobQueue(store)
    job, _ = await queue.submit(name="refused", enterprise_project="finance",
                                spec=job_data(tmp_path, server, "refused", 2))
    worker = JobWorker(queue, "w1", WorkerSettings(lease=5, poll=0.05), tmp_path)
    task = asyncio.create_task(worker.run())

    async def ended() -> bool:
        record = await queue.get(job.id)
        return record is not None and record.status == "failed"

    try:
        await wait_until(ended, "the job to fail")
    finally:
        worker.stop()
        await task
    record = await queue.get(job.id)
    assert record is not None and record.exit_code == 3
    assert record.error is not None and "not-the-right-secret" not in record.error
    assert "credentials" in record.error.lower() or "401" in record.error
    await store.close()
