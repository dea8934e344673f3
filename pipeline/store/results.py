"""A job's stored page results, streamed in document order (for per-job outputs such as
the fields table): nothing is held in memory beyond the row being read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

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


async def stored_pages(store: Store, job: str) -> AsyncIterator[StoredPage]:
    """Every saved page of `job`, by document key then page; after a failed document's
    saved pages (if any), one record with its error."""
    query = (
        select(
            documents.c.key, documents.c.status, documents.c.error,
            pages.c.page_index, pages.c.result,
        )
        .select_from(documents.outerjoin(pages, pages.c.document_id == documents.c.id))
        .where(documents.c.job == job)
        .order_by(documents.c.key, pages.c.page_index)
    )
    failed: StoredPage | None = None
    async with store.engine.connect() as conn:
        rows = await conn.stream(query)
        async for row in rows:
            if failed is not None and failed.key != row.key:
                yield failed
                failed = None
            if row.status == "failed" and failed is None:
                failed = StoredPage(row.key, None, None, row.error or "failed")
            if row.page_index is not None:
                yield StoredPage(row.key, row.page_index, json.loads(row.result))
    if failed is not None:
        yield failed
