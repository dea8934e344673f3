"""Schedules and their fires in the state store.

`schedules` holds one row per (enterprise project, name): the job to run, its cron line,
zone, overlap and misfire rules, whether it is paused, and where it came from (a job file
under `ocrpipe up --jobs DIR`, or the API). `schedule_fires` holds one row per due time
acted on: queued (with the job it made), skipped (the last run still ran), missed (`up`
was down) or run_now. The due time is a unique key, so of two schedulers sharing the
database exactly one acts on each due time; the other's insert fails and it moves on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from pipeline.store.db import Store
from pipeline.store.schema import jobs, metadata

FireOutcome = Literal["queued", "skipped", "missed", "run_now"]

schedules = Table(
    "schedules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enterprise_project", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("spec", Text, nullable=False),  # the job as JSON (never credentials)
    Column("cron", String(200), nullable=False),
    Column("timezone", String(100), nullable=False),
    Column("overlap", String(10), nullable=False),  # skip | queue
    Column("misfire", String(10), nullable=False),  # run_once | skip
    Column("paused", Boolean, nullable=False, default=False),
    Column("origin", Text, nullable=False),  # "file:/abs/path.toml" or "api"
    Column("created_at", DateTime(timezone=True), nullable=False),  # due times count from it
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("enterprise_project", "name", name="uq_schedules_project_name"),
)

schedule_fires = Table(
    "schedule_fires",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enterprise_project", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(10), nullable=False),  # see FireOutcome
    Column("detail", Text),
    Column("job_id", String(40)),
    Column("fired_at", DateTime(timezone=True), nullable=False),
    Column("fired_by", String(200), nullable=False),
    Column("reported", Boolean, nullable=False, default=False),  # its job's end was logged
    UniqueConstraint("enterprise_project", "name", "due_at", name="uq_schedule_fires_due"),
)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ScheduleRecord:
    enterprise_project: str
    name: str
    spec: dict[str, Any]
    cron: str
    timezone: str
    overlap: str
    misfire: str
    paused: bool
    origin: str
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> ScheduleRecord:
        return cls(enterprise_project=row.enterprise_project, name=row.name,
                   spec=json.loads(row.spec), cron=row.cron, timezone=row.timezone,
                   overlap=row.overlap, misfire=row.misfire, paused=bool(row.paused),
                   origin=row.origin, created_at=_aware(row.created_at) or datetime.now(UTC))


@dataclass(frozen=True)
class FireRecord:
    enterprise_project: str
    name: str
    due_at: datetime
    outcome: str
    detail: str | None
    job_id: str | None
    job_status: str | None = None
    job_error: str | None = None
    job_summary: dict[str, Any] | None = None


class ScheduleStore:
    """The two tables of a `Store`; each method is one short transaction."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    async def put(self, record: ScheduleRecord) -> None:
        """Create the schedule, or update its job and rules (its paused state and its
        creation time, from which due times count, stay)."""
        values = dict(spec=json.dumps(record.spec, sort_keys=True), cron=record.cron,
                      timezone=record.timezone, overlap=record.overlap,
                      misfire=record.misfire, origin=record.origin, updated_at=datetime.now(UTC))
        key = and_(schedules.c.enterprise_project == record.enterprise_project,
                   schedules.c.name == record.name)
        for _ in range(2):  # another `up` reading the same DIR may insert it first
            try:
                async with self.engine.begin() as conn:
                    if (await conn.execute(update(schedules).where(key).values(**values))
                            ).rowcount:
                        return
                    await conn.execute(insert(schedules).values(
                        enterprise_project=record.enterprise_project, name=record.name,
                        paused=record.paused, created_at=record.created_at, **values))
                    return
            except IntegrityError:
                continue

    async def get(self, project: str, name: str) -> ScheduleRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(schedules).where(and_(
                schedules.c.enterprise_project == project, schedules.c.name == name)))).first()
        return ScheduleRecord.of(row) if row is not None else None

    async def list_schedules(self, project: str | None = None) -> list[ScheduleRecord]:
        query = select(schedules).order_by(schedules.c.enterprise_project, schedules.c.name)
        if project is not None:
            query = query.where(schedules.c.enterprise_project == project)
        async with self.engine.connect() as conn:
            return [ScheduleRecord.of(r) for r in await conn.execute(query)]

    async def set_paused(self, project: str, name: str, paused: bool,
                         now: datetime | None = None) -> bool:
        """Pause or resume; a resumed schedule counts due times from `now` (those that fell
        while it was paused are not missed runs)."""
        now = now or datetime.now(UTC)
        resumed = {} if paused else {"created_at": now}
        async with self.engine.begin() as conn:
            return bool((await conn.execute(update(schedules).where(and_(
                schedules.c.enterprise_project == project, schedules.c.name == name,
            )).values(paused=paused, updated_at=now, **resumed))).rowcount)

    async def remove(self, project: str, name: str) -> bool:
        async with self.engine.begin() as conn:
            return bool((await conn.execute(delete(schedules).where(and_(
                schedules.c.enterprise_project == project, schedules.c.name == name,
            )))).rowcount)

    async def remove_from_files(self, prefix: str, keep: set[tuple[str, str]]) -> list[str]:
        """Delete the schedules whose origin starts with `prefix` and whose (project, name)
        is not in `keep` (their job file is gone); their names."""
        gone = [s for s in await self.list_schedules()
                if s.origin.startswith(prefix) and (s.enterprise_project, s.name) not in keep]
        for s in gone:
            await self.remove(s.enterprise_project, s.name)
        return [s.name for s in gone]

    async def last_due(self, project: str, name: str) -> datetime | None:
        """The latest due time acted on (run-now fires are not due times)."""
        async with self.engine.connect() as conn:
            value = (await conn.execute(select(func.max(schedule_fires.c.due_at)).where(and_(
                schedule_fires.c.enterprise_project == project, schedule_fires.c.name == name,
                schedule_fires.c.outcome != "run_now",
            )))).scalar()
        return _aware(value)

    async def claim_fire(self, project: str, name: str, due_at: datetime,
                         outcome: FireOutcome, by: str, detail: str | None = None) -> int | None:
        """Record the due time as acted on; None when another scheduler already has."""
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(insert(schedule_fires).values(
                    enterprise_project=project, name=name, due_at=due_at, outcome=outcome,
                    detail=detail, fired_at=datetime.now(UTC), fired_by=by,
                    reported=outcome not in ("queued", "run_now"),
                ))
        except IntegrityError:
            return None
        key = result.inserted_primary_key
        return int(key[0]) if key else None

    async def set_fire_job(self, fire_id: int, job_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(schedule_fires).where(schedule_fires.c.id == fire_id)
                               .values(job_id=job_id))

    async def fires(self, project: str, name: str, limit: int = 20) -> list[FireRecord]:
        """The latest fires of a schedule, newest first, with their jobs' outcomes."""
        query = (select(schedule_fires, jobs.c.status, jobs.c.error, jobs.c.summary)
                 .outerjoin(jobs, jobs.c.id == schedule_fires.c.job_id)
                 .where(and_(schedule_fires.c.enterprise_project == project,
                             schedule_fires.c.name == name))
                 .order_by(schedule_fires.c.id.desc()).limit(limit))
        async with self.engine.connect() as conn:
            return [_fire(r) for r in await conn.execute(query)]

    async def ended_unreported(self) -> list[FireRecord]:
        """Fires whose job has ended and whose end the scheduler has not logged yet."""
        query = (select(schedule_fires, jobs.c.status, jobs.c.error, jobs.c.summary)
                 .join(jobs, jobs.c.id == schedule_fires.c.job_id)
                 .where(and_(schedule_fires.c.reported.is_(False),
                             jobs.c.status.in_(("done", "failed", "cancelled")))))
        async with self.engine.connect() as conn:
            return [_fire(r) for r in await conn.execute(query)]

    async def mark_reported(self, job_id: str) -> bool:
        """True for the one scheduler that marks it (the one that logs the end)."""
        async with self.engine.begin() as conn:
            return bool((await conn.execute(update(schedule_fires).where(and_(
                schedule_fires.c.job_id == job_id, schedule_fires.c.reported.is_(False),
            )).values(reported=True))).rowcount)


def _fire(row: Any) -> FireRecord:
    return FireRecord(enterprise_project=row.enterprise_project, name=row.name,
                      due_at=_aware(row.due_at) or datetime.now(UTC), outcome=row.outcome,
                      detail=row.detail, job_id=row.job_id, job_status=row.status,
                      job_error=row.error,
                      job_summary=json.loads(row.summary) if row.summary else None)
