"""Retention: old, settled rows out of the state database (`ocrpipe db prune`).

At 100 M pages a month the database is sized by the ledger (a `usage` row per attempt)
and the finished pages (a `pages` row per page, its result JSON the bulk). The JSON
output in the output storage already is the result, so both can go once old enough.
`prune` removes, for rows older than `cutoff`:

- ledger rows (`usage`) that are settled (billed, failed, saved), with their `deductions`
  row; never 'pending' or 'unknown' ones (sent, no answer seen: `ocrpipe reconcile` may
  still turn them into billed or failed, and billing counts them as possible cost);
- `pages` rows of finished documents (done or failed, last changed before the cutoff):
  a later run whose outputs are missing recognises those pages again (it cannot reuse
  them), so keep outputs where they are;
- with `documents=True` the finished `documents` rows themselves: a later run of that
  job then processes those documents again as new (and is billed for them);
- finished runs no ledger row points at any more, with their `run_regions` row.

Nothing of a job that is running (a run 'running' or a lease held) is touched. Deletes
go in batches of `batch` rows, each its own short transaction, so that a running job's
writes are never held up for long; a dry run only counts.

Why not monthly partitions of `usage` on PostgreSQL (prune as DROP TABLE): the primary
key of a partitioned table must hold the partition key, so `usage.id` alone would no
longer be unique, and every write that names a row by id (each attempt's completion,
`deductions.usage_id`, reconcile) would have to carry `started_at` too or probe every
partition; turning the existing table into a partitioned one also rewrites it. The
batched DELETE keeps the schema one for both databases; see the README's Sizing section
for what it costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, not_, or_, select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from pipeline.store.billing_tables import deductions, run_regions
from pipeline.store.db import Store
from pipeline.store.schema import documents, job_leases, pages, runs, usage

SETTLED = ("billed", "failed", "saved")
"""Ledger outcomes that no longer change; 'pending' and 'unknown' may (reconcile)."""

FINISHED = ("done", "failed")
"""Document states a run has finished with; 'pending' is being (or was being) worked."""

BATCH = 5_000


@dataclass(frozen=True)
class Pruned:
    """What `prune` removed (or, for a dry run, would remove), and what it kept."""

    cutoff: datetime
    usage: int
    deductions: int
    pages: int
    documents: int
    runs: int
    kept_unsettled: int
    """Ledger rows older than the cutoff kept as 'pending'/'unknown'."""
    kept_running: int
    """Ledger rows older than the cutoff kept because their job is running."""
    dry_run: bool


def _running_jobs() -> Any:
    return union(select(runs.c.job).where(runs.c.status == "running"),
                 select(job_leases.c.job))


def _old_usage(cutoff: datetime) -> Any:
    return and_(usage.c.started_at < cutoff, usage.c.outcome.in_(SETTLED),
                not_(usage.c.job.in_(_running_jobs())))


def _old_documents(cutoff: datetime) -> Any:
    return and_(documents.c.updated_at < cutoff, documents.c.status.in_(FINISHED),
                not_(documents.c.job.in_(_running_jobs())))


def _old_runs(cutoff: datetime) -> Any:
    still_used = select(usage.c.run_id).where(usage.c.run_id.is_not(None))
    return and_(runs.c.status != "running", runs.c.started_at < cutoff,
                or_(runs.c.finished_at.is_(None), runs.c.finished_at < cutoff),
                not_(runs.c.job.in_(_running_jobs())), not_(runs.c.id.in_(still_used)))


async def _count(conn: AsyncConnection, query: Select[Any]) -> int:
    return int((await conn.execute(select(func.count()).select_from(query.subquery())))
               .scalar_one())


async def _batches(store: Store, ids: Select[Any], key: Any, remove: Any, batch: int) -> int:
    """Delete the rows `ids` selects (their `key` column), `batch` at a time, in key
    order: `remove(conn, keys)` deletes one batch. Each batch starts after the last key
    of the one before, through the key's index, so it neither walks again over the rows
    just deleted (dead until vacuumed) nor over the rows kept. Returns the rows removed."""
    removed, last = 0, None
    while True:
        query = ids.order_by(key).limit(batch)
        if last is not None:
            query = query.where(key > last)
        async with store.engine.begin() as conn:
            chunk = [row[0] for row in await conn.execute(query)]
            if chunk:
                await remove(conn, chunk)
        removed += len(chunk)
        if len(chunk) < batch:
            return removed
        last = chunk[-1]


async def prune(store: Store, cutoff: datetime, *, documents_too: bool = False,
                dry_run: bool = False, batch: int = BATCH) -> Pruned:
    """Remove settled rows older than `cutoff` (see the module docstring)."""
    old_usage = select(usage.c.id).where(_old_usage(cutoff))
    old_pages = (select(pages.c.document_id, pages.c.page_index)
                 .where(pages.c.document_id.in_(select(documents.c.id)
                                                .where(_old_documents(cutoff)))))
    old_docs = select(documents.c.id).where(_old_documents(cutoff))
    async with store.engine.connect() as conn:
        older = usage.c.started_at < cutoff
        kept_unsettled = await _count(conn, select(usage.c.id).where(
            and_(older, not_(usage.c.outcome.in_(SETTLED)))))
        kept_running = await _count(conn, select(usage.c.id).where(
            and_(older, usage.c.outcome.in_(SETTLED), usage.c.job.in_(_running_jobs()))))
        if dry_run:
            return Pruned(
                cutoff, await _count(conn, old_usage),
                await _count(conn, select(deductions.c.usage_id)
                             .where(deductions.c.usage_id.in_(old_usage))),
                await _count(conn, old_pages),
                await _count(conn, old_docs) if documents_too else 0,
                # runs whose last ledger rows go now are counted by the real prune only
                await _count(conn, select(runs.c.id).where(_old_runs(cutoff))),
                kept_unsettled, kept_running, dry_run=True)

    removed_deductions = 0

    async def drop_usage(conn: AsyncConnection, ids: list[int]) -> None:
        nonlocal removed_deductions
        gone = await conn.execute(delete(deductions).where(deductions.c.usage_id.in_(ids)))
        removed_deductions += gone.rowcount
        await conn.execute(delete(usage).where(usage.c.id.in_(ids)))

    async def drop_pages(conn: AsyncConnection, doc_ids: list[int]) -> None:
        await conn.execute(delete(pages).where(pages.c.document_id.in_(doc_ids)))

    async def drop_documents(conn: AsyncConnection, doc_ids: list[int]) -> None:
        await conn.execute(delete(documents).where(documents.c.id.in_(doc_ids)))

    async def drop_runs(conn: AsyncConnection, run_ids: list[int]) -> None:
        await conn.execute(delete(run_regions).where(run_regions.c.run_id.in_(run_ids)))
        await conn.execute(delete(runs).where(runs.c.id.in_(run_ids)))

    usage_rows = await _batches(store, old_usage, usage.c.id, drop_usage, batch)
    async with store.engine.connect() as conn:
        page_rows = await _count(conn, old_pages)
    # pages by document: the documents whose pages go, a batch of documents at a time
    with_pages = old_docs.where(documents.c.id.in_(select(pages.c.document_id)))
    await _batches(store, with_pages, documents.c.id, drop_pages, batch)
    document_rows = (await _batches(store, old_docs, documents.c.id, drop_documents, batch)
                     if documents_too else 0)
    run_rows = await _batches(store, select(runs.c.id).where(_old_runs(cutoff)), runs.c.id,
                              drop_runs, batch)
    return Pruned(cutoff, usage_rows, removed_deductions, page_rows, document_rows, run_rows,
                  kept_unsettled, kept_running, dry_run=False)
