"""The scheduler on a fake clock against a real SQLite state store: due times become queued
jobs once; overlap skipped (recorded) or queued; misfire run_once and skip; two schedulers
on one database fire each due time once; an ended run that failed is logged at ERROR with
the schedule's name."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.schedules.scheduler import Scheduler
from pipeline.store import JobQueue, ScheduleRecord, ScheduleStore, Store, open_store


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, year: int, month: int, day: int, hour: int = 0, minute: int = 0,
            second: int = 0) -> None:
        self.now = datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def record(name: str = "nightly", cron: str = "0 2 * * *", *, timezone: str = "UTC",
           overlap: str = "skip", misfire: str = "run_once",
           created: datetime = datetime(2026, 3, 2, tzinfo=UTC)) -> ScheduleRecord:
    spec = {"name": name, "source": {"url": "/srv/scans"}, "output": {"url": "/srv/out"},
            "ocr": {"enterprise_project_id": "finance"}}
    return ScheduleRecord(enterprise_project="finance", name=name, spec=spec, cron=cron,
                          timezone=timezone, overlap=overlap, misfire=misfire, paused=False,
                          origin="api", created_at=created)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:///{tmp_path / 'state.db'}")
    yield opened
    await opened.close()


def fires(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return [(str(due)[:16], outcome) for due, outcome in conn.execute(
            "SELECT due_at, outcome FROM schedule_fires ORDER BY due_at, id")]


async def finish_all(queue: JobQueue, status: str = "done", error: str | None = None) -> None:
    """A worker's part, through the real queue: claim each queued job and end it."""
    while (job := await queue.claim("test-worker", 30)) is not None:
        await queue.finish(job.id, "test-worker", status=status,  # type: ignore[arg-type]
                           exit_code=0 if status == "done" else 1, error=error,
                           summary={"documents_done": 0, "documents_skipped": 3})


async def test_a_due_time_makes_one_queued_job(store: Store, tmp_path: Path) -> None:
    await ScheduleStore(store).put(record())
    clock = FakeClock(utc(2026, 3, 2, 1, 59))
    scheduler = Scheduler(store, "up-1", clock=clock)
    assert await scheduler.tick() == []
    clock.set(2026, 3, 2, 2, 0, 5)
    made = await scheduler.tick()
    assert len(made) == 1
    assert await scheduler.tick() == []  # the same due time again: nothing
    job = await JobQueue(store).get(made[0])
    assert job is not None and (job.name, job.enterprise_project, job.status) == (
        "nightly", "finance", "queued")
    assert job.spec["source"]["url"] == "/srv/scans"
    await finish_all(JobQueue(store))
    clock.set(2026, 3, 3, 2, 0, 30)
    assert len(await scheduler.tick()) == 1
    assert fires(tmp_path / "state.db") == [("2026-03-02 02:00", "queued"),
                                           ("2026-03-03 02:00", "queued")]


async def test_spring_forward_in_berlin_fires_at_three(store: Store, tmp_path: Path) -> None:
    await ScheduleStore(store).put(record(cron="30 2 * * *", timezone="Europe/Berlin",
                                          created=utc(2026, 3, 28, 12)))
    clock = FakeClock(utc(2026, 3, 29, 0, 59))
    scheduler = Scheduler(store, "up-1", clock=clock)
    assert await scheduler.tick() == []
    clock.set(2026, 3, 29, 1, 0, 10)  # 03:00:10 CEST, the first minute after the change
    assert len(await scheduler.tick()) == 1
    assert fires(tmp_path / "state.db") == [("2026-03-29 01:00", "queued")]


async def test_daily_in_shanghai_fires_at_its_midnight(store: Store, tmp_path: Path) -> None:
    await ScheduleStore(store).put(record(cron="@daily", timezone="Asia/Shanghai",
                                          created=utc(2026, 3, 1)))
    clock = FakeClock(utc(2026, 3, 1, 15, 59, 30))
    scheduler = Scheduler(store, "up-1", clock=clock)
    assert await scheduler.tick() == []
    clock.set(2026, 3, 1, 16, 0, 1)
    assert len(await scheduler.tick()) == 1
    assert fires(tmp_path / "state.db") == [("2026-03-01 16:00", "queued")]


async def test_overlap_skip_records_the_skip(store: Store, tmp_path: Path) -> None:
    await ScheduleStore(store).put(record(cron="*/10 * * * *", created=utc(2026, 3, 2, 1, 59)))
    clock = FakeClock(utc(2026, 3, 2, 2, 0, 1))
    scheduler, queue = Scheduler(store, "up-1", clock=clock), JobQueue(store)
    first = await scheduler.tick()
    assert len(first) == 1 and await queue.claim("w", 600) is not None  # still running
    clock.set(2026, 3, 2, 2, 10, 1)
    assert await scheduler.tick() == []
    assert fires(tmp_path / "state.db") == [("2026-03-02 02:00", "queued"),
                                           ("2026-03-02 02:10", "skipped")]
    skipped = (await ScheduleStore(store).fires("finance", "nightly"))[0]
    assert skipped.detail == f"the last run ({first[0]}) was still running"


async def test_overlap_queue_queues_behind_the_running_job(store: Store) -> None:
    await ScheduleStore(store).put(record(cron="*/10 * * * *", overlap="queue",
                                          created=utc(2026, 3, 2, 1, 59)))
    clock = FakeClock(utc(2026, 3, 2, 2, 0, 1))
    scheduler, queue = Scheduler(store, "up-1", clock=clock), JobQueue(store)
    first = await scheduler.tick()
    running = await queue.claim("w", 600)
    assert running is not None and running.id == first[0]
    clock.set(2026, 3, 2, 2, 10, 1)
    second = await scheduler.tick()
    assert len(second) == 1 and second != first
    # the job queue runs one job of a name at a time: the second waits for the first
    assert await queue.claim("w2", 600) is None
    await queue.finish(running.id, "w", status="done", exit_code=0)
    claimed = await queue.claim("w2", 600)
    assert claimed is not None and claimed.id == second[0]


async def test_misfire_run_once_makes_one_catch_up_run(store: Store, tmp_path: Path) -> None:
    await ScheduleStore(store).put(record(created=utc(2026, 3, 1, 12)))
    clock = FakeClock(utc(2026, 3, 6, 9, 0))  # up was down for five due times
    scheduler = Scheduler(store, "up-1", clock=clock)
    assert len(await scheduler.tick()) == 1
    assert await scheduler.tick() == []
    assert fires(tmp_path / "state.db") == [("2026-03-06 02:00", "queued")]


async def test_misfire_skip_records_the_missed_times(store: Store, tmp_path: Path) -> None:
    await ScheduleStore(store).put(record(misfire="skip", created=utc(2026, 3, 1, 12)))
    clock = FakeClock(utc(2026, 3, 6, 9, 0))
    scheduler = Scheduler(store, "up-1", clock=clock)
    assert await scheduler.tick() == []
    assert fires(tmp_path / "state.db") == [("2026-03-06 02:00", "missed")]
    missed = (await ScheduleStore(store).fires("finance", "nightly"))[0]
    assert missed.detail == "5 due times missed while no scheduler ran"
    clock.set(2026, 3, 7, 2, 0, 2)  # the next due time on time runs as usual
    assert len(await scheduler.tick()) == 1


async def test_paused_schedules_do_not_fire(store: Store) -> None:
    schedules = ScheduleStore(store)
    await schedules.put(record())
    assert await schedules.set_paused("finance", "nightly", True)
    clock = FakeClock(utc(2026, 3, 2, 2, 0, 1))
    assert await Scheduler(store, "up-1", clock=clock).tick() == []
    await schedules.set_paused("finance", "nightly", False, now=clock.now)
    # resumed: the due time that fell while it was paused is not a missed run
    assert await Scheduler(store, "up-1", clock=clock).tick() == []
    clock.set(2026, 3, 3, 2, 0, 1)
    assert len(await Scheduler(store, "up-1", clock=clock).tick()) == 1


async def test_two_schedulers_on_one_database_fire_each_due_time_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    one, two = await open_store(url), await open_store(url)  # two engines, as two `up`s
    try:
        await ScheduleStore(one).put(record(cron="* * * * *", overlap="queue",
                                             created=utc(2026, 3, 1)))
        clock = FakeClock(utc(2026, 3, 1, 0, 0, 30))
        a, b = Scheduler(one, "up-a", clock=clock), Scheduler(two, "up-b", clock=clock)
        made: list[str] = []
        for minute in range(1, 11):
            clock.now = utc(2026, 3, 1, 0, minute, 1)
            both = await asyncio.gather(a.tick(), b.tick())
            made += both[0] + both[1]
        assert len(made) == len(set(made)) == 10
        with sqlite3.connect(tmp_path / "state.db") as conn:
            assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (10,)
            owners = {row[0] for row in conn.execute("SELECT fired_by FROM schedule_fires")}
        assert owners <= {"up-a", "up-b"}
    finally:
        await one.close()
        await two.close()


async def test_a_failed_run_is_logged_at_error_with_the_schedule_name(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    await ScheduleStore(store).put(record())
    clock = FakeClock(utc(2026, 3, 2, 2, 0, 1))
    scheduler = Scheduler(store, "up-1", clock=clock)
    [job_id] = await scheduler.tick()
    await finish_all(JobQueue(store), "failed", "the OCR service refused the credentials (401)")
    with caplog.at_level(logging.INFO, logger="pipeline.schedules.scheduler"):
        clock.now += timedelta(minutes=1)
        await scheduler.tick()
        await scheduler.tick()  # logged once
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [f"schedule=nightly project=finance job={job_id} failed: "
                      "the OCR service refused the credentials (401)"]


async def test_a_done_run_is_logged_with_its_unchanged_count(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    await ScheduleStore(store).put(record())
    clock = FakeClock(utc(2026, 3, 2, 2, 0, 1))
    scheduler = Scheduler(store, "up-1", clock=clock)
    [job_id] = await scheduler.tick()
    await finish_all(JobQueue(store))
    with caplog.at_level(logging.INFO, logger="pipeline.schedules.scheduler"):
        await scheduler.tick()
    assert (f"schedule=nightly project=finance job={job_id} done: 0 documents done, "
            "3 unchanged") in [r.getMessage() for r in caplog.records]


async def test_run_now_queues_behind_a_running_job_and_keeps_the_cron_line(
        store: Store, tmp_path: Path) -> None:
    await ScheduleStore(store).put(record())
    clock = FakeClock(utc(2026, 3, 2, 1, 0))
    scheduler, queue = Scheduler(store, "up-1", clock=clock), JobQueue(store)
    schedule = await ScheduleStore(store).get("finance", "nightly")
    assert schedule is not None
    first = await scheduler.run_now(schedule)
    assert first is not None and await queue.claim("w", 600) is not None  # running
    clock.set(2026, 3, 2, 1, 30)
    second = await scheduler.run_now(schedule)  # overlap = skip does not apply to run-now
    assert second is not None and second != first
    clock.set(2026, 3, 2, 2, 0, 1)  # the cron line's due time is still due (and skipped:
    assert await scheduler.tick() == []  # the run-now job runs)
    assert fires(tmp_path / "state.db") == [("2026-03-02 01:00", "run_now"),
                                           ("2026-03-02 01:30", "run_now"),
                                           ("2026-03-02 02:00", "skipped")]


async def test_a_scheduled_run_carries_the_jobs_webhook(store: Store) -> None:
    plain = record()
    spec = {**plain.spec, "notify": {"webhook": "https://hooks.example.com/ocr"}}
    await ScheduleStore(store).put(ScheduleRecord(**{**plain.__dict__, "spec": spec}))
    clock = FakeClock(utc(2026, 3, 2, 2, 0, 1))
    [job_id] = await Scheduler(store, "up-1", clock=clock).tick()
    job = await JobQueue(store).get(job_id)
    assert job is not None and job.webhook == "https://hooks.example.com/ocr"
