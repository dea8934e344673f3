"""Webhook deliveries in the state store: an outbox, so a job's end is announced even when
`up` stops between ending the job and sending.

Each ending of a job with `[notify] webhook` (a retried job ends again: one more) gets one
`webhooks` row, found by `endings_to_announce` (a job ended, no delivery for that ending
yet) and made by `enqueue`. Every attempt to send it is a `webhook_attempts` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from pipeline.store.db import Store
from pipeline.store.jobs import FINAL, JobRecord
from pipeline.store.schema import jobs, webhook_attempts, webhooks


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value


@dataclass(frozen=True)
class Delivery:
    id: int
    job_id: str
    url: str
    payload: str
    attempts: int
    created_at: datetime


class WebhookStore:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    async def endings_to_announce(self, limit: int = 50) -> list[JobRecord]:
        """Ended jobs with a webhook whose ending has no delivery yet."""
        announced = exists().where(and_(webhooks.c.job_id == jobs.c.id,
                                        webhooks.c.ended_at == jobs.c.finished_at))
        query = (select(jobs).where(and_(jobs.c.webhook.is_not(None), jobs.c.status.in_(FINAL),
                                         jobs.c.finished_at.is_not(None), ~announced))
                 .order_by(jobs.c.seq).limit(limit))
        async with self.engine.connect() as conn:
            return [JobRecord.of(r) for r in await conn.execute(query)]

    async def enqueue(self, job: JobRecord, url: str, payload: str) -> None:
        """One delivery for this ending of `job` (a second call for it does nothing)."""
        now = datetime.now(UTC)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(webhooks).values(
                    job_id=job.id, ended_at=job.finished_at, url=url, payload=payload,
                    state="pending", attempts=0, next_attempt_at=now, created_at=now,
                ))
        except IntegrityError:
            pass  # another process announced it first

    async def due(self, now: datetime, limit: int = 16) -> list[Delivery]:
        query = (select(webhooks).where(and_(webhooks.c.state == "pending",
                                             webhooks.c.next_attempt_at <= now))
                 .order_by(webhooks.c.next_attempt_at).limit(limit))
        async with self.engine.connect() as conn:
            return [Delivery(id=r.id, job_id=r.job_id, url=r.url, payload=r.payload,
                             attempts=r.attempts, created_at=_aware(r.created_at) or now)
                    for r in await conn.execute(query)]

    async def record(self, delivery: Delivery, *, http_status: int | None, error: str | None,
                     state: str, next_attempt_at: datetime | None) -> None:
        """One attempt and what follows it: delivered, gave_up, or pending until next."""
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            await conn.execute(insert(webhook_attempts).values(
                webhook_id=delivery.id, at=now, http_status=http_status, error=error))
            await conn.execute(update(webhooks).where(webhooks.c.id == delivery.id).values(
                state=state, attempts=webhooks.c.attempts + 1, next_attempt_at=next_attempt_at,
                finished_at=now if state != "pending" else None,
            ))

    async def for_job(self, job_id: str) -> list[dict[str, Any]]:
        """The job's deliveries, oldest first, each with its attempts (for the job's JSON)."""
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(
                select(webhooks).where(webhooks.c.job_id == job_id).order_by(webhooks.c.id)))
            tried = list(await conn.execute(
                select(webhook_attempts)
                .where(webhook_attempts.c.webhook_id.in_([r.id for r in rows]))
                .order_by(webhook_attempts.c.id)))

        def when(value: datetime | None) -> str | None:
            aware = _aware(value)
            return aware.isoformat() if aware is not None else None

        return [{
            "url": r.url, "state": r.state, "next_attempt_at": when(r.next_attempt_at),
            "attempts": [{"at": when(a.at), "http_status": a.http_status, "error": a.error}
                         for a in tried if a.webhook_id == r.id],
        } for r in rows]
