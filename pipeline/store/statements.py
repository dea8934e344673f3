"""The state store's hot statements, built once (`Store` runs them for every page).

Building an SQLAlchemy statement (`update(t).where(...).values(...)`) costs more than
running its cached compiled form; these few run several times per page, so they are
built at import with bound parameters and executed with a dict of values. Parameter
names carry a `p_` prefix: SQLAlchemy reserves a column's own name in an UPDATE's SET.
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam, delete, insert, update

from pipeline.store.schema import documents, pages, usage

INSERT_ATTEMPT = insert(usage)
"""Executed with a dict of every column but `id` (a new attempt row)."""

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
