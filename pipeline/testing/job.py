"""A `JobContext` for direct tests of `process_document`: the job's storages (local paths
or S3), a SQLite state store, a fake recognizer wired to the real ledger hook, and a
thread pool in place of worker processes (or any executor given).

    async with job_context(spec, tmp_path / "state.db") as ctx:
        assert await process_document(ctx, obj) == "done"     # or runner.process_listing(ctx)
        assert ctx.ocr.answered == ["page a-p1", "page a-p2"]
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import JobSpec
from pipeline.context import JobContext
from pipeline.ledger import LedgerHook
from pipeline.storage import Storage, open_storage
from pipeline.store import Store, open_store

from .recognizer import FakeRecognizer


@dataclass
class FakeJobContext(JobContext):
    """A JobContext whose recognizer is the fake (so tests read `ctx.ocr.answered`)."""

    ocr: FakeRecognizer


@asynccontextmanager
async def job_context(
    spec: JobSpec,
    db: str | Path,
    *,
    recognizer: FakeRecognizer | None = None,
    pool: Executor | None = None,
    source: Storage | None = None,
) -> AsyncIterator[FakeJobContext]:
    """Open what a run of `spec` shares, with `db` (a SQLite path or URL) as the state
    store and one run started in it; closed in reverse order on the way out. `source`
    replaces the storage the job's source URL names (a `LocalStorage` with a counting
    `hasher`, say)."""
    async with AsyncExitStack() as stack:
        source = await stack.enter_async_context(
            source or open_storage(spec.resolve(spec.source.url), spec.source.s3)
        )
        output = await stack.enter_async_context(
            open_storage(spec.resolve(spec.output.url), spec.output.s3)
        )
        store: Store = await open_store(str(db))
        stack.push_async_callback(store.close)
        run_id = await store.start_run(spec.name)
        ledger = LedgerHook(store, job=spec.name, run_id=run_id,
                            enterprise_project=spec.ocr.enterprise_project_id)
        ocr = recognizer or FakeRecognizer()
        if ocr.on_attempt is None:
            ocr.on_attempt = ledger
        executor = pool or stack.enter_context(ThreadPoolExecutor(1))
        yield FakeJobContext(
            spec=spec, store=store, source=source, output=output, ocr=ocr, ledger=ledger,
            pool=executor, page_slots=asyncio.Semaphore(2 * spec.ocr.concurrency),
        )
