"""What the state store knows of a queued job's documents, pages and OCR calls, and of all
jobs together (for /metrics): the read-only half of `JobQueue` (jobs.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from pipeline.store.schema import documents, jobs, pages, usage


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; every one stored is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class JobProgress:
    """What the state store knows of a job's documents, pages and calls (all its runs)."""

    documents: dict[str, int]
    """Documents by state: pending (in flight or interrupted), done, failed."""
    pages_done: int
    calls: dict[str, int]
    """OCR attempts by ledger outcome: billed, failed, unknown, pending (in flight)."""
    pages_since: int = 0
    """Pages finished since the `since` given to `progress` (the latest run's start)."""
    pages_left: int = 0
    """Pages not done yet of the documents opened and not finished (their page count is
    known); the documents not opened yet are not counted."""
    documents_counted: int = 0
    """Documents whose pages are accounted for: their page count is known, or they have
    ended (a document that failed before it was opened has none to come)."""
    pages_counted: int = 0
    """The pages of the documents whose page count is known."""
    documents_paged: int = 0
    """How many documents have a known page count (`pages_counted` is theirs)."""


class JobReads:
    """Queries over a job's documents (by its run key) and the ledger."""

    engine: AsyncEngine

    async def unfinished_keys(self, key: str) -> frozenset[str]:
        """The keys of the documents not done in the job whose run key is `key`: the failed
        ones, and those a killed retry left pending (its next run takes them again)."""
        async with self.engine.connect() as conn:
            return frozenset(r.key for r in await conn.execute(
                select(documents.c.key).where(and_(documents.c.job == key,
                                                   documents.c.status != "done"))
            ))

    async def progress(self, key: str, since: datetime | None = None) -> JobProgress:
        """Documents, pages and ledger counts of the job whose run key is `key`; with
        `since`, also the pages finished since then."""
        async with self.engine.connect() as conn:
            docs = {r.status: int(r.n) for r in await conn.execute(
                select(documents.c.status, func.count().label("n"))
                .where(documents.c.job == key).group_by(documents.c.status)
            )}
            done_pages = (await conn.execute(
                select(func.count()).select_from(pages.join(documents))
                .where(documents.c.job == key)
            )).scalar_one()
            calls = {r.outcome: int(r.n) for r in await conn.execute(
                select(usage.c.outcome, func.count().label("n"))
                .where(usage.c.job == key).group_by(usage.c.outcome)
            )}
            saved = (select(func.count()).select_from(pages)
                     .where(pages.c.document_id == documents.c.id).scalar_subquery())
            # one statement, so that the counts agree with each other while workers write
            paged = documents.c.page_count.is_not(None)
            counts = (await conn.execute(
                select(
                    func.coalesce(func.sum(case(
                        (and_(documents.c.status == "pending", paged),
                         documents.c.page_count - saved), else_=0)), 0).label("left"),
                    func.count().filter(or_(paged, documents.c.status != "pending"))
                    .label("counted"),
                    func.count(documents.c.page_count).label("paged"),
                    func.coalesce(func.sum(documents.c.page_count), 0).label("pages"),
                ).where(documents.c.job == key)
            )).one()
            recent = 0
            if since is not None:
                recent = (await conn.execute(
                    select(func.count()).select_from(pages.join(documents))
                    .where(and_(documents.c.job == key, pages.c.done_at >= since))
                )).scalar_one()
        return JobProgress(documents=docs, pages_done=int(done_pages), calls=calls,
                           pages_since=int(recent), pages_left=max(0, int(counts.left)),
                           documents_counted=int(counts.counted),
                           documents_paged=int(counts.paged), pages_counted=int(counts.pages))

    async def totals(self) -> tuple[dict[str, int], dict[tuple[str, str], int], int]:
        """For /metrics: jobs by status; OCR attempts by (enterprise project, outcome);
        pages finished, all jobs of the state store together."""
        async with self.engine.connect() as conn:
            by_status = {r.status: int(r.n) for r in await conn.execute(
                select(jobs.c.status, func.count().label("n")).group_by(jobs.c.status)
            )}
            calls = {(r.enterprise_project, r.outcome): int(r.n) for r in await conn.execute(
                select(usage.c.enterprise_project, usage.c.outcome, func.count().label("n"))
                .group_by(usage.c.enterprise_project, usage.c.outcome)
            )}
            pages_done = (await conn.execute(select(func.count()).select_from(pages))).scalar_one()
        return by_status, calls, int(pages_done)

    async def documents(
        self, key: str, *, status: str | None = None, after_id: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """The job's documents in id order, with state, pages, error and outputs."""
        query = (
            select(documents.c.id, documents.c.key, documents.c.status, documents.c.page_count,
                   documents.c.error, documents.c.outputs, documents.c.updated_at)
            .where(documents.c.job == key).order_by(documents.c.id).limit(limit)
        )
        if status is not None:
            query = query.where(documents.c.status == status)
        if after_id is not None:
            query = query.where(documents.c.id > after_id)
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(query))
        return [
            {"id": r.id, "key": r.key, "status": r.status, "pages": r.page_count,
             "error": r.error, "outputs": json.loads(r.outputs or "[]"),
             "updated_at": aware(r.updated_at)}
            for r in rows
        ]

