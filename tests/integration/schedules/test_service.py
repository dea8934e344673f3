"""The schedules task of `up` (`run_schedules`) on a fake clock with a short tick: a job file
written while it runs is loaded, a changed one updated, and a due time queues a job."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from pipeline.schedules.service import run_schedules
from pipeline.store import JobQueue, ScheduleStore, open_store


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    try:
        async with asyncio.timeout(20):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


async def test_changed_files_are_read_again_and_due_times_fire(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    store = await open_store(f"sqlite:///{tmp_path / 'state.db'}")
    now = [datetime(2026, 3, 2, 1, 0, tzinfo=UTC)]
    stopping = asyncio.Event()
    task = asyncio.create_task(run_schedules(store, "up-1", stopping, jobs_dir=jobs, tick=0.05,
                                             clock=lambda: now[0]))
    schedules = ScheduleStore(store)
    try:
        path = jobs / "nightly.toml"
        path.write_text('name = "nightly"\nschedule = "0 2 * * *"\n[source]\nurl = "in"\n'
                        '[output]\nurl = "out"\n')

        async def cron_is(line: str) -> bool:
            found = await schedules.get("default", "nightly")
            return found is not None and found.cron == line
        await eventually(lambda: cron_is("0 2 * * *"), "the new file to load")
        path.write_text(path.read_text().replace("0 2 * * *", "30 2 * * *"))
        await eventually(lambda: cron_is("30 2 * * *"), "the changed file to load")

        now[0] = datetime(2026, 3, 2, 2, 30, 5, tzinfo=UTC)

        async def queued() -> bool:
            return len(await JobQueue(store).list_jobs(project="default")) == 1
        await eventually(queued, "the due time to queue a job")
        [job] = await JobQueue(store).list_jobs()
        assert (job.name, job.status) == ("nightly", "queued")
        assert job.spec["source"]["url"] == str((jobs / "in").resolve())
    finally:
        stopping.set()
        await asyncio.wait_for(task, 10)
        await store.close()
