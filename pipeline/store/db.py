"""The state store: runs, documents, finished pages and the usage ledger.

SQLAlchemy 2 async Core over aiosqlite or asyncpg. `open_store(url)` picks the backend
from the URL (pipeline/store/engine.py). Each read is one short transaction; the writes
of a running job (documents begun and finished, attempts, saved pages) go through
`GroupCommit` (`group_commit.py`): each returns once it is committed, and writes from
pages in flight at the same time share one transaction.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pipeline.models import PageResult, SourceObject, UsageRecord, page_from_dict, page_to_dict
from pipeline.store import statements as sql
from pipeline.store.engine import DEFAULT_DB, connect_error, database_url, make_engine
from pipeline.store.group_commit import GroupCommit
from pipeline.store.new_jobs import NewJobs
from pipeline.store.revision import at_head
from pipeline.store.schema import documents, pages, runs, usage

__all__ = ["DEFAULT_DB", "AttemptEnd", "DocumentState", "Store", "database_url", "open_store"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DocumentState:
    id: int
    change_token: str | None
    fingerprint: str | None
    status: str
    page_count: int | None
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class AttemptEnd:
    """How one OCR attempt ended, for `finish_attempt` / `save_page`."""

    outcome: str
    http_status: int | None = None
    error_code: str | None = None
    request_id: str | None = None
    latency_ms: float | None = None


async def open_store(url: str | None = None) -> Store:
    """Open the store named by `url`, else $OCRPIPE_DB, first bringing its schema to the
    newest revision (made from nothing, an older file upgraded in place, or, already
    there, one small read: pipeline/store/migrate.py)."""
    address = database_url(url or os.environ.get("OCRPIPE_DB"))
    engine = make_engine(address)
    try:
        if not await at_head(engine):
            from pipeline.store.migrate import to_head  # Alembic: loaded only when needed

            await to_head(engine)
    except (SQLAlchemyError, OSError) as exc:
        await engine.dispose()
        raise connect_error(address, exc) from None
    except BaseException:
        await engine.dispose()
        raise
    return Store(engine)


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.writes = GroupCommit(engine)
        self._new_jobs = NewJobs()  # a job's first run reads no document rows: new_jobs.py
        self._asking = asyncio.Lock()
        self._fresh: set[int] = set()
        """Documents this store inserted and that have no saved page yet, so no saved
        pages to read (held only while a document is in progress: bounded by the
        documents in flight)."""

    async def close(self) -> None:
        await self.writes.drain()
        await self.engine.dispose()

    # runs ---------------------------------------------------------------------------------

    async def start_run(self, job: str) -> int:
        """Record a new run; attempts left 'pending' by earlier runs become 'unknown'."""
        self._new_jobs.forget(job)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(usage)
                .where(and_(usage.c.job == job, usage.c.outcome == "pending"))
                .values(outcome="unknown")
            )
            await conn.execute(
                update(runs)
                .where(and_(runs.c.job == job, runs.c.status == "running"))
                .values(status="crashed")
            )
            row = await conn.execute(
                insert(runs).values(job=job, started_at=_now(), status="running")
            )
            return int(row.inserted_primary_key[0])  # type: ignore[index]

    async def finish_run(self, run_id: int, status: str, exit_code: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(finished_at=_now(), status=status, exit_code=exit_code)
            )

    # documents ----------------------------------------------------------------------------

    async def document(self, job: str, key: str) -> DocumentState | None:
        if not self._new_jobs.asked(job):
            await self._ask_if_new(job)
        if self._new_jobs.absent(job, key):
            return None
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sql.SELECT_DOCUMENT, {"p_job": job, "p_key": key})
            ).first()
        if row is None:
            return None
        return DocumentState(
            id=row.id,
            change_token=row.change_token,
            fingerprint=row.fingerprint,
            status=row.status,
            page_count=row.page_count,
            outputs=tuple(json.loads(row.outputs or "[]")),
        )

    async def begin_document(self, job: str, obj: SourceObject, *, new: bool = False) -> int:
        """Mark a document pending; drop its saved pages when the input changed. `new`:
        the caller found no row for it (`document`) under the job's lease, so it is
        inserted with the other new documents of the group, without looking first (if a
        row is there after all, the unique key refuses it and the row is looked up)."""
        self._new_jobs.inserted(job, obj.key)  # before it can be seen: new_jobs.py
        if new:
            try:
                doc_id = await self.writes.run_batched(sql.INSERT_DOCUMENTS, dict(
                    job=job, key=obj.key, change_token=obj.change_token,
                    fingerprint=obj.fingerprint, status="pending", error=None,
                    updated_at=_now(),
                ))
            except IntegrityError:
                pass
            else:
                self._fresh.add(doc_id)
                return doc_id

        async def write(conn: AsyncConnection) -> int:
            row = (
                await conn.execute(
                    select(documents.c.id, documents.c.change_token).where(
                        and_(documents.c.job == job, documents.c.key == obj.key)
                    )
                )
            ).first()
            values = dict(
                change_token=obj.change_token, fingerprint=obj.fingerprint, status="pending",
                error=None, updated_at=_now(),
            )
            if row is None:
                new = insert(documents).values(job=job, key=obj.key, **values)
                result = await conn.execute(new)
                doc_id = int(result.inserted_primary_key[0])  # type: ignore[index]
                self._fresh.add(doc_id)
                return doc_id
            if row.change_token != obj.change_token:
                await conn.execute(delete(pages).where(pages.c.document_id == row.id))
            await conn.execute(update(documents).where(documents.c.id == row.id).values(**values))
            return int(row.id)

        return await self.writes.run(write)

    async def _ask_if_new(self, job: str) -> None:
        """Whether the job has any document row, asked once (the first `document` call of
        each document waits for it, so no row of this store's is inserted before)."""
        async with self._asking:
            if self._new_jobs.asked(job):
                return
            async with self.engine.connect() as conn:
                row = (await conn.execute(sql.ANY_DOCUMENT, {"p_job": job})).first()
            self._new_jobs.found(job, empty=row is None)

    async def note_page_count(self, doc_id: int, page_count: int) -> None:
        """The page count of a document being recognised (the job's ETA counts on it)."""
        await self.writes.run_batched(
            sql.NOTE_PAGE_COUNTS, {"p_id": doc_id, "p_page_count": page_count}
        )

    async def remember_fingerprint(self, doc_id: int, fingerprint: str | None) -> None:
        """The source's new fingerprint, its content (change token) being the same."""
        await self.writes.run(lambda conn: conn.execute(
            update(documents).where(documents.c.id == doc_id).values(fingerprint=fingerprint)
        ))

    async def finish_document(
        self,
        doc_id: int,
        *,
        status: str,
        page_count: int | None = None,
        error: str | None = None,
        outputs: Sequence[str] = (),
    ) -> None:
        self._fresh.discard(doc_id)
        values = dict(
            p_id=doc_id, p_status=status, p_page_count=page_count, p_error=error,
            p_outputs=json.dumps(list(outputs)), p_updated_at=_now(),
        )
        await self.writes.run_batched(sql.FINISH_DOCUMENTS, values)

    async def saved_pages(self, doc_id: int) -> dict[int, PageResult]:
        """Pages of this document already recognised (by this or an earlier run)."""
        if doc_id in self._fresh:  # begun as a new row by this store: it has none
            self._fresh.discard(doc_id)
            return {}
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(pages.c.page_index, pages.c.result).where(pages.c.document_id == doc_id)
            )
            return {r.page_index: page_from_dict(json.loads(r.result)) for r in rows}

    # the ledger ---------------------------------------------------------------------------

    async def start_attempt(self, record: UsageRecord, run_id: int | None = None) -> int:
        """Write the attempt row before the request goes out (outcome 'pending'); returns
        once it is committed."""
        now = _now()
        values = dict(
            run_id=run_id, job=record.job, doc_key=record.doc_key,
            page_index=record.page_index, enterprise_project=record.enterprise_project,
            api=record.api, attempt=record.attempt, bytes_sent=record.bytes_sent,
            outcome="pending", started_at=now, day=now.date().isoformat(),
        )
        return await self.writes.run_batched(sql.START_ATTEMPTS, values)

    @staticmethod
    def _finished(attempt_id: int, end: AttemptEnd) -> dict[str, Any]:
        return dict(
            p_id=attempt_id, p_outcome=end.outcome, p_http_status=end.http_status,
            p_error_code=end.error_code, p_request_id=end.request_id,
            p_latency_ms=end.latency_ms, p_finished_at=_now(),
        )

    async def finish_attempt(self, attempt_id: int, end: AttemptEnd) -> None:
        await self.writes.run_batched(sql.FINISH_ATTEMPTS, self._finished(attempt_id, end))

    async def save_page(
        self,
        doc_id: int,
        page: PageResult,
        *,
        change_token: str | None,
        attempt: tuple[int, AttemptEnd] | None = None,
        attempts: Sequence[tuple[int, AttemptEnd]] = (),
    ) -> None:
        """Store a page's result and complete its billed attempts (every 2xx answer the
        page took, each its own ledger row) in one transaction."""
        self._fresh.discard(doc_id)  # it has a saved page now
        ends = [*([attempt] if attempt is not None else []), *attempts]
        values = dict(
            document_id=doc_id, page_index=page.index, change_token=change_token,
            result=json.dumps(page_to_dict(page), ensure_ascii=False),
            request_id=page.result.request_id, done_at=_now(),
        )
        finished = [self._finished(row_id, end) for row_id, end in ends]
        await self.writes.run_batched(sql.SAVE_PAGES, (finished, values))

    async def usage_summary(
        self, job: str | None = None, *, run_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Per enterprise project and API: billed, failed, unknown calls and billed pages."""

        def count(outcome: str) -> Any:
            return func.sum((usage.c.outcome == outcome).cast(Integer))

        # "\x1f" (unit separator) between the parts: PostgreSQL text holds no NUL
        page_key = usage.c.job + "\x1f" + usage.c.doc_key + "\x1f" + usage.c.page_index.cast(String)
        query = select(
            usage.c.enterprise_project,
            usage.c.api,
            count("billed").label("billed"),
            count("failed").label("failed"),
            (count("unknown") + count("pending")).label("unknown"),
            count("saved").label("saved"),
            # a page counts once however many billed attempts it took
            func.count(func.distinct(page_key)).filter(usage.c.outcome == "billed").label("pages"),
            func.count().filter(usage.c.outcome != "saved").label("attempts"),
        ).group_by(usage.c.enterprise_project, usage.c.api).order_by(
            usage.c.enterprise_project, usage.c.api
        )
        if job is not None:
            query = query.where(usage.c.job == job)
        if run_id is not None:
            query = query.where(usage.c.run_id == run_id)
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]
