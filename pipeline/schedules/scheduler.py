"""The scheduler: at each tick, every schedule that is due makes an ordinary queued job.

One tick, per schedule not paused: the due times since the last one acted on (or since
the schedule was made) up to now, from its cron line in its zone. A due time older than
`grace` was missed (`up` was down): `misfire = "run_once"` makes one catch-up run for all
of them, `"skip"` records them as missed. A due time while a job of the same name is
still queued or running is skipped and recorded (`overlap = "skip"`), or queued behind
it (`"queue"`: the job queue runs one job of a name at a time). Each due time is claimed
by inserting it into `schedule_fires`, where it is a unique key: of several schedulers on
one database, one makes the job. The job has the schedule's name, so it shares the state
of the runs before it: documents that did not change are not sent again, and its summary
counts them (`documents_skipped`).

The clock is injectable (`clock`), so tests step it instead of waiting for a minute.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, select

from pipeline.cron import Cron
from pipeline.store import JobQueue, ScheduleRecord, ScheduleStore, Store
from pipeline.store.schema import jobs

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Fires the schedules of one state store. `tick()` does one pass; `run()` loops."""

    def __init__(self, store: Store, owner: str, *, clock: Clock = utc_now,
                 grace: float = 60.0) -> None:
        self.store, self.owner, self.clock = store, owner, clock
        self.grace = timedelta(seconds=grace)
        self.schedules = ScheduleStore(store)
        self.queue = JobQueue(store)

    async def run(self, stopping: asyncio.Event, tick: float) -> None:
        """Tick every `tick` seconds until `stopping` is set; a failed tick is logged."""
        while not stopping.is_set():
            try:
                await self.tick()
            except Exception:  # the state database locked or full: said, then tried again
                log.exception("scheduler: a tick failed; trying again in %g s", tick)
            try:
                await asyncio.wait_for(stopping.wait(), tick)
            except TimeoutError:
                pass

    async def tick(self) -> list[str]:
        """One pass over the schedules; the ids of the jobs this scheduler made."""
        made: list[str] = []
        now = self.clock()
        for schedule in await self.schedules.list_schedules():
            if not schedule.paused:
                made += await self._due(schedule, now)
        await self.report_ended()
        return made

    async def _due(self, schedule: ScheduleRecord, now: datetime) -> list[str]:
        project, name = schedule.enterprise_project, schedule.name
        cron = Cron(schedule.cron, schedule.timezone)
        last = await self.schedules.last_due(project, name)
        since = max(last, schedule.created_at) if last is not None else schedule.created_at
        dues = cron.due_between(since, now)
        missed = [d for d in dues if now - d > self.grace]
        on_time = [d for d in dues if now - d <= self.grace]
        made: list[str] = []
        if missed and (schedule.misfire == "skip" or on_time):
            detail = f"{len(missed)} due times missed while no scheduler ran"
            if await self.schedules.claim_fire(project, name, missed[-1], "missed", self.owner,
                                               detail):
                log.warning("schedule=%s project=%s: %s (misfire = %s)", name, project,
                            detail, schedule.misfire)
        elif missed:
            on_time = [missed[-1]]
            log.warning("schedule=%s project=%s: %d due times missed; one catch-up run "
                        "(misfire = run_once)", name, project, len(missed))
        for due in on_time:
            job_id = await self.fire(schedule, due)
            if job_id is not None:
                made.append(job_id)
        return made

    async def fire(self, schedule: ScheduleRecord, due: datetime, *,
                   run_now: bool = False) -> str | None:
        """Act on one due time: a queued job, or a recorded skip; None when no job was made
        here (skipped, or another scheduler had the due time). `run_now` queues even
        behind a running job, whatever `overlap` says."""
        project, name = schedule.enterprise_project, schedule.name
        busy = await self._active_job(project, name)
        if busy is not None and schedule.overlap == "skip" and not run_now:
            detail = f"the last run ({busy[0]}) was still {busy[1]}"
            if await self.schedules.claim_fire(project, name, due, "skipped", self.owner,
                                               detail):
                log.warning("schedule=%s project=%s: due %s skipped: %s (overlap = skip)",
                            name, project, due.isoformat(), detail)
            return None
        fire_id = await self.schedules.claim_fire(
            project, name, due, "run_now" if run_now else "queued", self.owner)
        if fire_id is None:
            return None  # another scheduler acted on this due time
        webhook = (schedule.spec.get("notify") or {}).get("webhook")
        job, _ = await self.queue.submit(
            name=name, enterprise_project=project, spec=schedule.spec,
            priority=int(schedule.spec.get("priority", 0)),
            idempotency_key=f"schedule:{name}:{due.isoformat()}", webhook=webhook,
        )
        await self.schedules.set_fire_job(fire_id, job.id)
        log.info("schedule=%s project=%s: due %s: job %s queued%s", name, project,
                 due.isoformat(), job.id, " (behind the last run)" if busy else "")
        return job.id

    async def run_now(self, schedule: ScheduleRecord) -> str | None:
        """A run outside the cron line (`ocrpipe schedules run-now`)."""
        return await self.fire(schedule, self.clock(), run_now=True)

    async def _active_job(self, project: str, name: str) -> tuple[str, str] | None:
        """A job of this schedule's name still queued or running: (id, status)."""
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(jobs.c.id, jobs.c.status).where(and_(
                jobs.c.enterprise_project == project, jobs.c.name == name,
                jobs.c.status.in_(("queued", "running", "cancelling")),
            )).limit(1))).first()
        return (row.id, row.status) if row is not None else None

    async def report_ended(self) -> None:
        """Log each ended scheduled run once: done at INFO, failed or cancelled at ERROR
        with the schedule's name (the job's error says why, e.g. credentials refused)."""
        for fire in await self.schedules.ended_unreported():
            if fire.job_id is None or not await self.schedules.mark_reported(fire.job_id):
                continue
            summary = fire.job_summary or {}
            where = f"schedule={fire.name} project={fire.enterprise_project} job={fire.job_id}"
            if fire.job_status == "done" and not fire.job_error:
                log.info("%s done: %s documents done, %s unchanged", where,
                         summary.get("documents_done", 0), summary.get("documents_skipped", 0))
            else:
                log.error("%s %s: %s", where, fire.job_status,
                          fire.job_error or "no error recorded")
