"""The state store's hot writes: statements built once, run for many pages at a time.

Building an SQLAlchemy statement (`update(t).where(...).values(...)`) costs more than
running its cached compiled form; these few run for every page, so they are built at
import with bound parameters. Each is wrapped as a `Batch` of the group commit
(`group_commit.py`): every such write queued in one group runs as one `executemany`.
Parameter names carry a `p_` prefix: SQLAlchemy reserves a column's own name in an
UPDATE's SET.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pipeline.store.group_commit import Batch
from pipeline.store.schema import documents, pages, usage

Row = dict[str, Any]

SELECT_DOCUMENT = select(documents).where(
    and_(documents.c.job == bindparam("p_job"), documents.c.key == bindparam("p_key"))
)
"""A document's row by job and key (read once per document of a run)."""

ANY_DOCUMENT = select(documents.c.id).where(documents.c.job == bindparam("p_job")).limit(1)
"""Whether a job has any document row (asked once per run: `new_jobs.py`)."""

INSERT_ATTEMPT = insert(usage).returning(usage.c.id, sort_by_parameter_order=True)
"""Executed with dicts of every column but `id` (new attempt rows); returns their ids."""

ATTEMPT_KEY = ("run_id", "job", "doc_key", "page_index", "attempt")
INSERT_ATTEMPTS = insert(usage).returning(usage.c.id, *(usage.c[n] for n in ATTEMPT_KEY))
"""The same, its rows told apart by their values rather than their order: see
`_inserted_ids`."""

FINISH_ATTEMPT = (
    update(usage)
    .where(usage.c.id == bindparam("p_id"))
    .values(
        outcome=bindparam("p_outcome"),
        http_status=bindparam("p_http_status"),
        error_code=bindparam("p_error_code"),
        request_id=bindparam("p_request_id"),
        latency_ms=bindparam("p_latency_ms"),
        finished_at=bindparam("p_finished_at"),
    )
)

DELETE_PAGE = delete(pages).where(
    and_(pages.c.document_id == bindparam("p_document_id"),
         pages.c.page_index == bindparam("p_page_index"))
)

INSERT_DOCUMENT = insert(documents).returning(documents.c.id, sort_by_parameter_order=True)
"""Executed with dicts of every column but `id` (documents new to the job); their ids."""

DOCUMENT_KEY = ("job", "key")
INSERT_DOCUMENTS_BY_KEY = insert(documents).returning(
    documents.c.id, *(documents.c[n] for n in DOCUMENT_KEY)
)

INSERT_PAGE = insert(pages)
"""Executed with a dict of every column of `pages`."""

FINISH_DOCUMENT = (
    update(documents)
    .where(documents.c.id == bindparam("p_id"))
    .values(
        status=bindparam("p_status"),
        page_count=bindparam("p_page_count"),
        error=bindparam("p_error"),
        outputs=bindparam("p_outputs"),
        updated_at=bindparam("p_updated_at"),
    )
)


NOTE_PAGE_COUNT = (
    update(documents)
    .where(documents.c.id == bindparam("p_id"))
    .values(page_count=bindparam("p_page_count"))
)


async def _note_page_counts(conn: AsyncConnection, rows: list[Row]) -> list[None]:
    await conn.execute(NOTE_PAGE_COUNT, rows)
    return [None] * len(rows)


async def _inserted_ids(
    conn: AsyncConnection, rows: list[Row], key: tuple[str, ...], by_key: Any, ordered: Any
) -> list[int]:
    """The new ids of `rows`, in order. RETURNING in the order of the parameters
    (`ordered`) makes SQLAlchemy send one INSERT per row to SQLite, which cannot promise
    that order (measured: two round trips through aiosqlite's thread per page, issue 15);
    `by_key` inserts them all in one statement and returns each row's `key` columns with
    its id, which tell the rows apart exactly. Rows that `key` does not tell apart (never
    seen) go in one at a time."""
    keys = [tuple(row[n] for n in key) for row in rows]
    if len(set(keys)) < len(keys):
        return [int(r.id) for r in await conn.execute(ordered, rows)]
    result = await conn.execute(by_key, rows)
    ids = {tuple(getattr(r, n) for n in key): int(r.id) for r in result}
    return [ids[k] for k in keys]


async def _start_attempts(conn: AsyncConnection, rows: list[Row]) -> list[int]:
    return await _inserted_ids(conn, rows, ATTEMPT_KEY, INSERT_ATTEMPTS, INSERT_ATTEMPT)


async def _insert_documents(conn: AsyncConnection, rows: list[Row]) -> list[int]:
    return await _inserted_ids(conn, rows, DOCUMENT_KEY, INSERT_DOCUMENTS_BY_KEY,
                               INSERT_DOCUMENT)


async def _finish_attempts(conn: AsyncConnection, rows: list[Row]) -> list[None]:
    await conn.execute(FINISH_ATTEMPT, rows)
    return [None] * len(rows)


async def _save_pages(
    conn: AsyncConnection, items: list[tuple[list[Row], Row]]
) -> list[None]:
    """(the page's billed attempts, the page's row) per item: both in one transaction."""
    ends = [end for attempt_ends, _ in items for end in attempt_ends]
    if ends:
        await conn.execute(FINISH_ATTEMPT, ends)
    await conn.execute(DELETE_PAGE, [
        {"p_document_id": page["document_id"], "p_page_index": page["page_index"]}
        for _, page in items
    ])
    await conn.execute(INSERT_PAGE, [page for _, page in items])
    return [None] * len(items)


async def _finish_documents(conn: AsyncConnection, rows: list[Row]) -> list[None]:
    await conn.execute(FINISH_DOCUMENT, rows)
    return [None] * len(rows)


START_ATTEMPTS: Batch[Row, int] = Batch("start attempts", _start_attempts)
INSERT_DOCUMENTS: Batch[Row, int] = Batch("insert documents", _insert_documents)
FINISH_ATTEMPTS: Batch[Row, None] = Batch("finish attempts", _finish_attempts)
SAVE_PAGES: Batch[tuple[list[Row], Row], None] = Batch("save pages", _save_pages)
FINISH_DOCUMENTS: Batch[Row, None] = Batch("finish documents", _finish_documents)
NOTE_PAGE_COUNTS: Batch[Row, None] = Batch("note page counts", _note_page_counts)
