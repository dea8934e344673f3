"""A job's stored page results, streamed in document order (for per-job outputs such as
the fields table): nothing is held in memory beyond the row being read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select

from pipeline.store.db import Store
from pipeline.store.schema import documents, pages


@dataclass(frozen=True)
class StoredPage:
    """One finished page of a job (`result` in `page_to_dict` form), or one failed
    document (`page` None, `error` set)."""

    key: str
    page: int | None
    """0-based page index; None for a document's failure record."""
    result: dict[str, Any] | None
    error: str = ""


async def stored_pages(store: Store, job: str, batch: int = 200) -> AsyncIterator[StoredPage]:
    """Every saved page of `job`, by document key then page; after a failed document's
    saved pages (if any), one record with its error. Read `batch` rows per query, each
    query going on where the last one stopped (keyset paging), so memory holds one batch."""
    query = (
        select(
            documents.c.key, documents.c.status, documents.c.error,
            pages.c.page_index, pages.c.result,
        )
        .select_from(documents.outerjoin(pages, pages.c.document_id == documents.c.id))
        .where(documents.c.job == job)
        .order_by(documents.c.key, pages.c.page_index)
        .limit(batch)
    )
    failed: StoredPage | None = None
    after: tuple[str, int] | None = None
    while True:
        page_query = query if after is None else query.where(or_(
            documents.c.key > after[0],
            and_(documents.c.key == after[0], pages.c.page_index > after[1]),
        ))
        async with store.engine.connect() as conn:
            rows = (await conn.execute(page_query)).all()
        for row in rows:
            if failed is not None and failed.key != row.key:
                yield failed
                failed = None
            if row.status == "failed" and failed is None:
                failed = StoredPage(row.key, None, None, row.error or "failed")
            if row.page_index is not None:
                yield StoredPage(row.key, row.page_index, json.loads(row.result))
        if len(rows) < batch:
            break
        last = rows[-1]
        # a document without saved pages is one row (page NULL): continue after its key
        after = (last.key, last.page_index if last.page_index is not None else 2**31)
    if failed is not None:
        yield failed
