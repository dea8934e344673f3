"""Several `ocrpipe up` processes on one PostgreSQL database (issue 17): claimers racing
for the queue each take a different job, every job is taken exactly once, and two jobs
of one name never run at once. Each claimer has its own store (its own connections), as
separate processes would."""

from __future__ import annotations

import asyncio
from collections import Counter

from pipeline.store import JobQueue, JobRecord, Store, open_store

CLAIMERS = 6
JOBS = 24


async def claim_all(store: Store, owner: str) -> list[JobRecord]:
    queue, taken = JobQueue(store), []
    while (job := await queue.claim(owner, lease=60)) is not None:
        taken.append(job)
    return taken


async def test_racing_claimers_take_each_job_once(postgres_url: str) -> None:
    stores = [await open_store(postgres_url) for _ in range(CLAIMERS)]
    try:
        queue = JobQueue(stores[0])
        for n in range(JOBS):
            await queue.submit(name=f"job{n}", enterprise_project=f"p{n % 3}", spec={"n": n})
        results = await asyncio.gather(
            *(claim_all(store, f"worker{k}") for k, store in enumerate(stores))
        )
        claimed = Counter(job.id for taken in results for job in taken)
        assert len(claimed) == JOBS and set(claimed.values()) == {1}
        owners = {job.id: job.lease_owner for taken in results for job in taken}
        for k, taken in enumerate(results):
            assert all(owners[job.id] == f"worker{k}" for job in taken)
    finally:
        for store in stores:
            await store.close()


async def test_two_jobs_of_one_name_are_not_claimed_at_once(postgres_url: str) -> None:
    stores = [await open_store(postgres_url) for _ in range(CLAIMERS)]
    try:
        queue = JobQueue(stores[0])
        for n in range(4):  # the same job submitted four times
            await queue.submit(name="same", enterprise_project="p", spec={"n": n})
        results = await asyncio.gather(
            *(JobQueue(store).claim(f"worker{k}", lease=60) for k, store in enumerate(stores))
        )
        assert sum(job is not None for job in results) == 1, results
    finally:
        for store in stores:
            await store.close()


async def test_claimers_racing_for_as_many_jobs_each_get_one(postgres_url: str) -> None:
    """A claim that meets another takes its turn rather than coming back empty (and its
    worker idling a poll period while jobs wait)."""
    stores = [await open_store(postgres_url) for _ in range(CLAIMERS)]
    try:
        queue = JobQueue(stores[0])
        for n in range(CLAIMERS):
            await queue.submit(name=f"job{n}", enterprise_project="p", spec={"n": n})
        results = await asyncio.gather(
            *(JobQueue(store).claim(f"worker{k}", lease=60) for k, store in enumerate(stores))
        )
        assert all(job is not None for job in results), results
        assert len({job.id for job in results if job is not None}) == CLAIMERS
    finally:
        for store in stores:
            await store.close()
