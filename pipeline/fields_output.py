"""The job's fields table (`formats` "csv" / "xlsx"), written once per job at the output
root as `<job name>.fields.csv` / `.xlsx`, when the run has been through every document.

It is rebuilt each run from the results stored in the state DB (every page of the job,
sent by this run or an earlier one), so a re-run that sends nothing writes the same
table. Two streamed passes over the stored pages: the first finds which columns some
row holds, the second writes the rows in batches from a worker thread (the event loop
keeps serving), so memory does not grow with the number of pages.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Sequence

from pipeline.config import JobSpec
from pipeline.context import JobContext
from pipeline.protocol import apis
from pipeline.storage import Storage
from pipeline.store import Store
from pipeline.store.results import stored_pages
from pipeline.writers.fields_table import (
    CONTENT_TYPES,
    Row,
    TableSink,
    columns_of,
    open_table,
    page_rows,
    table_key,
)

log = logging.getLogger(__name__)
TABLE_FORMATS = tuple(CONTENT_TYPES)
BATCH = 200
"""Rows handed to the writing thread at a time (memory holds one batch)."""


def table_formats(formats: Sequence[str]) -> tuple[str, ...]:
    return tuple(f for f in formats if f in TABLE_FORMATS)


async def write_fields_tables(ctx: JobContext) -> list[str]:
    """Write the job's fields tables (none unless a table format is asked); their URLs."""
    return await write_tables(ctx.spec, ctx.store, ctx.output)


async def write_tables(spec: JobSpec, store: Store, output: Storage) -> list[str]:
    """`write_fields_tables` from its parts: the job, its state store, its output."""
    formats = table_formats(spec.output.formats)
    if not formats:
        return []
    api = apis.api(spec.ocr.api)
    job = spec.name
    present: set[str] = set()
    async for stored in stored_pages(store, job):
        for row in page_rows(api, stored.key, stored.page, stored.result, stored.error):
            present.update(row)
    columns = columns_of(api, present)
    written = []
    with tempfile.TemporaryDirectory(prefix="ocrpipe-table-") as folder:
        for fmt in formats:
            temp = os.path.join(folder, f"fields.{fmt}")
            sink = await asyncio.to_thread(open_table, fmt, temp, columns, api.name)
            rows = await _fill(store, job, api, sink)
            await asyncio.to_thread(sink.close)
            key = table_key(job, fmt)
            written.append(await output.write_file(key, temp, CONTENT_TYPES[fmt]))
            log.info("job=%s fields table %s: %d rows, %d columns", job, key, rows, len(columns))
    return written


async def _fill(store: Store, job: str, api: apis.OcrApi, sink: TableSink) -> int:
    batch: list[Row] = []
    count = 0
    async for stored in stored_pages(store, job):
        batch.extend(page_rows(api, stored.key, stored.page, stored.result, stored.error))
        if len(batch) >= BATCH:
            await asyncio.to_thread(sink.add, batch)
            count += len(batch)
            batch = []
    if batch:
        await asyncio.to_thread(sink.add, batch)
        count += len(batch)
    return count
