"""Calls saved: a page's result made without OCR, recorded like a recognised page.

Its result is saved with the document's pages (so a resumed run and `ocrpipe export`
see it) and a ledger row with outcome 'saved' and the reason as its error code
('text_layer', 'blank', 'duplicate') is written in the same transaction: never billed,
counted per enterprise project as a call saved by `ocrpipe report` and the run summary.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import and_, delete, insert

from pipeline.context import JobContext
from pipeline.models import PageResult, page_to_dict
from pipeline.store.schema import pages, usage
from pipeline.triage import SavedReason


async def record_no_call(
    ctx: JobContext, doc_id: int, doc_key: str, change_token: str | None,
    page: PageResult, reason: SavedReason,
) -> None:
    now = datetime.now(UTC)
    async with ctx.store.engine.begin() as conn:
        await conn.execute(insert(usage).values(
            run_id=ctx.ledger.run_id, job=ctx.ledger.job, doc_key=doc_key,
            page_index=page.index, enterprise_project=ctx.ledger.enterprise_project,
            api=ctx.spec.ocr.api, attempt=0, bytes_sent=0, outcome="saved",
            error_code=reason, started_at=now, finished_at=now, day=now.date().isoformat(),
        ))
        await conn.execute(delete(pages).where(
            and_(pages.c.document_id == doc_id, pages.c.page_index == page.index)
        ))
        await conn.execute(insert(pages).values(
            document_id=doc_id, page_index=page.index, change_token=change_token,
            result=json.dumps(page_to_dict(page), ensure_ascii=False),
            request_id=page.result.request_id, done_at=now,
        ))
    ctx.counts.calls_saved[reason] = ctx.counts.calls_saved.get(reason, 0) + 1
