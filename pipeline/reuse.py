"""A document recognised before (the same content, in this job or another job of the
same state database) lends its pages to a copy of it: no OCR call for any of them.

The content is known by its change token (a local file's SHA-256, an object's ETag).
Only a document that finished ('done') with every page saved is used, the most recent
first, and only one read through the same API (a ledger row of that document, billed
or saved, names it): an invoice read by `vat-invoice` lends nothing to a `general-text`
job. Its pages keep their own geometry, so the writers place the text right even when
the other job rendered at another resolution. What else the other job asked of the
service (`language`, `detect_direction`, options) is not compared: reuse assumes one
content is read one way through one API (`[ocr] reuse_results = false` turns it off).
"""

from __future__ import annotations

import json

from sqlalchemy import and_, exists, select

from pipeline.context import JobContext
from pipeline.models import PageResult, SourceObject, page_from_dict
from pipeline.saved import record_no_call
from pipeline.store.schema import documents, pages, usage


async def recognised_before(
    ctx: JobContext, doc_id: int, obj: SourceObject, page_count: int
) -> dict[int, PageResult]:
    """Every page of an earlier document with `obj`'s content, read through this job's
    API, or {} if there is none."""
    api = ctx.spec.ocr.api
    if not obj.change_token:
        return {}
    query = (
        select(documents.c.id)
        .where(and_(
            documents.c.change_token == obj.change_token, documents.c.status == "done",
            documents.c.page_count == page_count, documents.c.id != doc_id,
            exists().where(and_(
                usage.c.job == documents.c.job, usage.c.doc_key == documents.c.key,
                usage.c.api == api, usage.c.outcome.in_(("billed", "saved")),
            )),
        ))
        .order_by(documents.c.updated_at.desc())
        .limit(1)
    )
    async with ctx.store.engine.connect() as conn:
        earlier = (await conn.execute(query)).scalar()
        if earlier is None:
            return {}
        rows = await conn.execute(
            select(pages.c.page_index, pages.c.result).where(pages.c.document_id == earlier)
        )
        found = {r.page_index: page_from_dict(json.loads(r.result)) for r in rows}
    return found if len(found) == page_count else {}


async def reuse_pages(
    ctx: JobContext, doc_id: int, obj: SourceObject, page_count: int,
    saved: dict[int, PageResult],
) -> dict[int, PageResult]:
    """The pages not yet `saved` that an earlier copy of the document provides, each
    recorded as a call saved ('duplicate')."""
    if not ctx.spec.ocr.reuse_results or len(saved) >= page_count:
        return {}
    found = await recognised_before(ctx, doc_id, obj, page_count)
    reused = {}
    for index, page in sorted(found.items()):
        if index not in saved:
            await record_no_call(ctx, doc_id, obj.key, obj.change_token, page, "duplicate")
            reused[index] = page
    return reused
