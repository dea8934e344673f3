"""`ocrpipe worker` (issue 17, job granularity): two worker processes on one PostgreSQL
database run the jobs in the queue, each job once; one is killed with SIGKILL midway and
its job, once its lease runs out, is resumed by the other without sending again the
pages it had finished; SIGTERM stops the survivor with exit 0. Both are in the worker
registry while they run; the survivor's clean stop deletes its row, the killed one's
stays and shows as lost."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import and_, select

from pipeline.fleet.registry import WorkerRegistry
from pipeline.store import JobQueue, Store, open_store
from pipeline.store.schema import usage
from pipeline.testing import FakeOcrServer, Reply
from tests.e2e.test_up import environment, wait_until
from tests.integration.test_job_worker import job_data
from tests.support.jobs import FAKE_AK, FAKE_SK

JOBS, DOCUMENTS = 4, 4


async def start_worker(tmp: Path, env: dict[str, str], n: int) -> asyncio.subprocess.Process:
    with (tmp / f"worker{n}.log").open("a") as log:  # the child keeps its own copy
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pipeline", "worker", "--concurrency", "1", "--lease", "2",
            "--grace", "10", env=env, stdout=log, stderr=log, cwd=tmp)


async def test_two_workers_run_the_queue_and_survive_a_kill(
    tmp_path: Path, postgres_url: str
) -> None:
    env = environment(tmp_path, postgres_url)
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK},
                             default=Reply.ok(delay=0.3)) as server:
        store = await open_store(postgres_url)
        queue = JobQueue(store)
        ids = [(await queue.submit(name=f"job{n}", enterprise_project="finance",
                                   spec=job_data(tmp_path, server, f"job{n}", DOCUMENTS)))[0].id
               for n in range(JOBS)]
        first, second = (await start_worker(tmp_path, env, 1),
                         await start_worker(tmp_path, env, 2))
        try:
            async def running_on_both() -> bool:
                owners = {job.lease_owner for job in await queue.list_jobs()
                          if job.status == "running"}
                return len(owners) == 2

            await wait_until(running_on_both, "both workers to run a job")
            await wait_until(lambda: billed_any(store), "a page billed")
            # both are in the worker registry, each holding the job it runs
            async def both_registered_holding_a_job() -> bool:
                rows = await WorkerRegistry(store).list_workers()
                return {row.pid for row in rows if row.kind == "worker" and
                        len(row.jobs) == 1} == {first.pid, second.pid}

            await wait_until(both_registered_holding_a_job, "both workers registered")
            first.kill()  # kill -9 midway: its job waits for its lease, then resumes
            assert await first.wait() == -signal.SIGKILL

            async def all_done() -> bool:
                jobs = [await queue.get(i) for i in ids]
                return all(job is not None and job.status == "done" for job in jobs)

            await wait_until(all_done, "every job done")
            second.send_signal(signal.SIGTERM)
            assert await second.wait() == 0
            # the clean stop deregistered; the killed one's row stays, lost past a lease
            await asyncio.sleep(1.0)
            short = WorkerRegistry(store, lease=0.5)
            left = await short.list_workers()
            assert [row.pid for row in left] == [first.pid]
            assert left[0].state(datetime.now(UTC), short.lease) == "lost"
        finally:
            for proc in (first, second):
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
        async with store.engine.connect() as conn:
            rows = await conn.execute(select(usage.c.job, usage.c.doc_key)
                                      .where(usage.c.outcome == "billed"))
            billed = Counter((row.job, row.doc_key) for row in rows)
        await store.close()
    assert billed == Counter({(f"finance/job{j}", f"doc{d}.png"): 1
                              for j in range(JOBS) for d in range(DOCUMENTS)})
    # at most the call in flight at the kill was sent again
    assert JOBS * DOCUMENTS <= server.call_count <= JOBS * DOCUMENTS + 1
    for j in range(JOBS):
        assert len(list((tmp_path / f"job{j}" / "out").glob("*.txt"))) == DOCUMENTS


async def billed_any(store: Store) -> bool:
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(usage.c.id).where(and_(
            usage.c.outcome == "billed")).limit(1))).first()
    return row is not None
