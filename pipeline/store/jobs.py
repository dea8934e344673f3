"""The job queue in the state store: submit, list, claim with a lease, renew, finish.

A job moves `queued -> running -> done | failed`, or is cancelled on the way
(`queued -> cancelled`, `running -> cancelling -> cancelled`); `retry` puts a finished job
back to `queued`: a `done` job with failed documents for a run of those documents only
(`run_scope = "failed"`, kept until that run ends), a failed or cancelled one for a whole
run again. A worker claims the highest-priority queued job in one transaction (of
equal priority, the project with the fewest jobs running goes first, then the oldest job)
and holds it with a lease it renews; a lease that runs out (the process was killed) makes
the job claimable again, and the new run resumes where the old one was (finished pages
are in the state store: `run_job` never sends them again). Two jobs with
the same name and enterprise project share their documents' state, so only one of them
runs at a time; the other waits in the queue.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from pipeline.store.db import Store
from pipeline.store.engine import CLAIM_LOCK, take_turn
from pipeline.store.job_reads import JobReads, aware
from pipeline.store.schema import documents, jobs

JobStatus = Literal["queued", "running", "cancelling", "done", "failed", "cancelled"]
STATUSES: tuple[JobStatus, ...] = ("queued", "running", "cancelling", "done", "failed", "cancelled")
ACTIVE: tuple[JobStatus, ...] = ("running", "cancelling")
FINAL: tuple[JobStatus, ...] = ("done", "failed", "cancelled")


def _now() -> datetime:
    return datetime.now(UTC)


def run_key(enterprise_project: str, name: str) -> str:
    """The job name the state store keys a queued job's documents and ledger rows by:
    namespaced by enterprise project, so two projects' jobs of one name never share
    documents (a project id holds no '/', a job name neither)."""
    return f"{enterprise_project}/{name}"


@dataclass(frozen=True)
class JobRecord:
    seq: int
    id: str
    name: str
    enterprise_project: str
    spec: dict[str, Any]
    status: JobStatus
    priority: int
    submitted_at: datetime
    started_at: datetime | None
    run_started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    exit_code: int | None
    error: str | None
    summary: dict[str, Any] | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    webhook: str | None = None
    run_scope: str | None = None
    """None: the run takes every listed document; "failed": only those that failed."""
    documents_listed: int | None = None
    """The documents the latest run lists, once counted (`listing_count.py`)."""

    @property
    def run_key(self) -> str:
        return run_key(self.enterprise_project, self.name)

    @classmethod
    def of(cls, row: Any) -> JobRecord:
        return cls(
            seq=row.seq, id=row.id, name=row.name, enterprise_project=row.enterprise_project,
            spec=json.loads(row.spec), status=row.status, priority=row.priority,
            submitted_at=aware(row.submitted_at) or _now(), started_at=aware(row.started_at),
            run_started_at=aware(row.run_started_at),
            finished_at=aware(row.finished_at), attempts=row.attempts,
            exit_code=row.exit_code, error=row.error,
            summary=json.loads(row.summary) if row.summary else None,
            lease_owner=row.lease_owner, lease_expires_at=aware(row.lease_expires_at),
            webhook=row.webhook, run_scope=row.run_scope,
            documents_listed=row.documents_listed,
        )


class StateConflict(Exception):
    """The job is not in a state that allows the change (e.g. cancelling a finished job)."""


class JobQueue(JobReads):
    """The `jobs` table of a `Store`. Each method is one short transaction; what it
    reads of a job's documents, pages and calls is `JobReads`'."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    async def submit(
        self, *, name: str, enterprise_project: str, spec: dict[str, Any], priority: int = 0,
        idempotency_key: str | None = None, webhook: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """A new queued job, or (with an `idempotency_key` already used by this enterprise
        project) the job that key made first; the flag says whether it is new."""
        job_id = "job_" + secrets.token_hex(8)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(jobs).values(
                    id=job_id, name=name, enterprise_project=enterprise_project,
                    spec=json.dumps(spec, sort_keys=True), status="queued", priority=priority,
                    idempotency_key=idempotency_key, submitted_at=_now(), attempts=0,
                    webhook=webhook,
                ))
        except IntegrityError:
            if idempotency_key is None:
                raise
            first = await self._by_idempotency_key(enterprise_project, idempotency_key)
            if first is None:
                raise
            return first, False
        record = await self.get(job_id)
        assert record is not None
        return record, True

    async def _by_idempotency_key(self, project: str, key: str) -> JobRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(jobs).where(and_(
                jobs.c.enterprise_project == project, jobs.c.idempotency_key == key
            )))).first()
        return JobRecord.of(row) if row is not None else None

    async def get(self, job_id: str, *, project: str | None = None) -> JobRecord | None:
        """The job, or None when it does not exist or belongs to another project."""
        query = select(jobs).where(jobs.c.id == job_id)
        if project is not None:
            query = query.where(jobs.c.enterprise_project == project)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return JobRecord.of(row) if row is not None else None

    async def list_jobs(
        self, *, project: str | None = None, status: str | None = None,
        before_seq: int | None = None, limit: int = 50,
    ) -> list[JobRecord]:
        """Newest first; `before_seq` continues a listing after its last job."""
        query = select(jobs).order_by(jobs.c.seq.desc()).limit(limit)
        if project is not None:
            query = query.where(jobs.c.enterprise_project == project)
        if status is not None:
            query = query.where(jobs.c.status == status)
        if before_seq is not None:
            query = query.where(jobs.c.seq < before_seq)
        async with self.engine.connect() as conn:
            return [JobRecord.of(r) for r in await conn.execute(query)]

    async def claim(self, owner: str, lease: float) -> JobRecord | None:
        """Take the next job: the highest priority, then the project with the fewest jobs
        running, then the oldest, of the queued jobs and the running ones whose lease ran
        out; none whose name is held by a live run."""
        now = _now()
        expired = jobs.c.lease_expires_at < now
        async with self.engine.begin() as conn:
            await take_turn(conn, CLAIM_LOCK)  # PostgreSQL: one claim at a time
            # a cancel whose worker died ends here (nothing runs it any more)
            await conn.execute(
                update(jobs).where(and_(jobs.c.status == "cancelling", expired))
                .values(status="cancelled", finished_at=now, lease_owner=None,
                        lease_expires_at=None)
            )
            other = jobs.alias("other")
            held = exists().where(and_(
                other.c.name == jobs.c.name,
                other.c.enterprise_project == jobs.c.enterprise_project,
                other.c.status.in_(ACTIVE), other.c.lease_expires_at >= now,
            ))
            mates = jobs.alias("mates")
            project_load = (
                select(func.count()).where(and_(
                    mates.c.enterprise_project == jobs.c.enterprise_project,
                    mates.c.status.in_(ACTIVE), mates.c.lease_expires_at >= now,
                )).scalar_subquery()
            )
            row = (await conn.execute(
                select(jobs.c.seq, jobs.c.status, jobs.c.lease_owner)
                .where(or_(jobs.c.status == "queued", and_(jobs.c.status == "running", expired)))
                .where(~held)
                # projects take turns: of equal priority, the project running fewest first
                .order_by(jobs.c.priority.desc(), project_load, jobs.c.seq).limit(1)
            )).first()
            if row is None:
                return None
            owner_was = (jobs.c.lease_owner.is_(None) if row.lease_owner is None
                         else jobs.c.lease_owner == row.lease_owner)
            taken = await conn.execute(
                update(jobs)
                .where(and_(jobs.c.seq == row.seq, jobs.c.status == row.status, owner_was))
                .values(status="running", lease_owner=owner,
                        lease_expires_at=now + timedelta(seconds=lease),
                        started_at=func.coalesce(jobs.c.started_at, now), run_started_at=now,
                        attempts=jobs.c.attempts + 1, documents_listed=None)
            )
            if taken.rowcount != 1:
                return None
            claimed = (await conn.execute(select(jobs).where(jobs.c.seq == row.seq))).one()
        return JobRecord.of(claimed)

    async def note_listed(self, job_id: str, owner: str, count: int) -> None:
        """How many documents the run that `owner` holds lists (for the job's ETA)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(jobs).where(and_(jobs.c.id == job_id, jobs.c.lease_owner == owner))
                .values(documents_listed=count)
            )

    async def renew(self, job_id: str, owner: str, lease: float) -> JobStatus | None:
        """Extend the lease; the job's status now, or None when the lease was lost."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(jobs)
                .where(and_(jobs.c.id == job_id, jobs.c.lease_owner == owner,
                            jobs.c.status.in_(ACTIVE)))
                .values(lease_expires_at=_now() + timedelta(seconds=lease))
            )
            if result.rowcount != 1:
                return None
            status: JobStatus = (await conn.execute(
                select(jobs.c.status).where(jobs.c.id == job_id)
            )).scalar_one()
            return status

    async def finish(
        self, job_id: str, owner: str, *, status: JobStatus, exit_code: int | None = None,
        error: str | None = None, summary: dict[str, Any] | None = None,
    ) -> bool:
        """End the run that `owner` holds; False when it no longer held the lease."""
        final = status in FINAL
        ended = {"run_scope": None} if final else {}  # a retry's scope ends with its run
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(jobs).where(and_(jobs.c.id == job_id, jobs.c.lease_owner == owner))
                .values(status=status, exit_code=exit_code, error=error,
                        summary=json.dumps(summary) if summary is not None else None,
                        finished_at=_now() if final else None, lease_owner=None,
                        lease_expires_at=None, **ended)
            )
            return bool(result.rowcount == 1)

    async def release(self, job_id: str, owner: str) -> JobStatus | None:
        """Give a running job back (the worker is stopping): `queued` again, or `cancelled`
        when a cancel came meanwhile. None when `owner` no longer held it."""
        async with self.engine.begin() as conn:
            status = (await conn.execute(
                select(jobs.c.status).where(and_(jobs.c.id == job_id, jobs.c.lease_owner == owner))
            )).scalar_one_or_none()
            if status is None:
                return None
            new: JobStatus = "cancelled" if status == "cancelling" else "queued"
            await conn.execute(
                update(jobs).where(jobs.c.id == job_id)
                .values(status=new, lease_owner=None, lease_expires_at=None,
                        finished_at=_now() if new == "cancelled" else None)
            )
            return new

    async def cancel(self, job_id: str) -> JobRecord:
        """queued -> cancelled at once; running -> cancelling (its worker stops taking pages,
        the calls in flight finish, then cancelled). A finished job: StateConflict."""
        now = _now()
        async with self.engine.begin() as conn:
            status = (await conn.execute(
                select(jobs.c.status).where(jobs.c.id == job_id)
            )).scalar_one()
            if status in FINAL:
                raise StateConflict(f"job {job_id} is already {status}: nothing to cancel")
            if status == "queued":
                values: dict[str, Any] = {"status": "cancelled", "finished_at": now}
            else:
                values = {"status": "cancelling"}
            await conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
        record = await self.get(job_id)
        assert record is not None
        return record

    async def retry(self, job_id: str) -> JobRecord:
        """A finished job queued again. `done` with failed documents: a run of those
        documents only (the done ones are neither listed nor sent again); `failed` or
        `cancelled`: a whole run again, which resumes (finished pages are not sent again).
        A `done` job without a failed document: StateConflict, there is nothing to retry."""
        async with self.engine.begin() as conn:
            row = (await conn.execute(
                select(jobs.c.status, jobs.c.name, jobs.c.enterprise_project)
                .where(jobs.c.id == job_id)
            )).one()
            if row.status not in FINAL:
                raise StateConflict(f"job {job_id} is {row.status}: retry it once it has ended")
            scope = None
            if row.status == "done":
                failed = (await conn.execute(
                    select(func.count()).select_from(documents).where(and_(
                        documents.c.job == run_key(row.enterprise_project, row.name),
                        documents.c.status == "failed",
                    ))
                )).scalar_one()
                if not failed:
                    raise StateConflict(f"job {job_id} is done and none of its documents "
                                        "failed: nothing to retry (submit it again to run "
                                        "changed inputs)")
                scope = "failed"
            await conn.execute(
                update(jobs).where(jobs.c.id == job_id)
                .values(status="queued", finished_at=None, error=None, exit_code=None,
                        run_scope=scope)
            )
        record = await self.get(job_id)
        assert record is not None
        return record
