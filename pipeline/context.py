"""What every document of a running job shares (`JobContext`), and how it is opened and
closed (`open_job`): storages, HTTP session, worker pool, ledger, OCR client.

Opening order: the storages, probed (`preflight.py`: a missing bucket, a folder that
refuses writes, missing credentials stop the job before anything is sent); then the HTTP
session and the worker pool (`shared_pool.py`: the run's own, or under `ocrpipe up` one
that every job shares). The OCR endpoint (the embedded service, when the job asks
for it) starts only at the first page to send (`lazy_ocr.py`). Everything is closed in
reverse order however the job ends.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import ParamSpec, Protocol, TypeVar

import aiohttp

from pipeline.billing.calls import call_region, record_run_region
from pipeline.billing.guard import BudgetGuard, open_guard
from pipeline.config import JobSpec
from pipeline.lazy_ocr import LazyOcr, check_credentials
from pipeline.ledger import LedgerHook
from pipeline.leftovers import remove_dead_part_files
from pipeline.models import OcrRequest, OcrResult, RunObserver, SilentObserver
from pipeline.page_worker import PageSettings
from pipeline.preflight import check_output, check_source
from pipeline.prepare import PageLimits
from pipeline.shared_pool import run_pool
from pipeline.storage import LocalStorage, Storage, open_storage
from pipeline.store import Store
from pipeline.workers import call_with

P = ParamSpec("P")
T = TypeVar("T")


class Recognizer(Protocol):
    """One page in, its text out: `LimitedClient` in a job, a fake in tests."""

    async def recognize(self, request: OcrRequest) -> OcrResult: ...


@dataclass
class Counts:
    """What the summary reports, counted as the job goes."""

    documents_done: int = 0
    documents_failed: int = 0
    documents_skipped: int = 0
    pages_sent: int = 0
    pages_reused: int = 0
    calls_saved: dict[str, int] = field(default_factory=dict)
    """Pages that needed no OCR call, by reason (pipeline/saved.py)."""


@dataclass
class JobContext:
    spec: JobSpec
    store: Store
    source: Storage
    output: Storage
    ocr: Recognizer
    ledger: LedgerHook
    pool: Executor
    page_slots: asyncio.Semaphore
    """Bounds the pages held in memory, job-wide."""
    observer: RunObserver = field(default_factory=SilentObserver)
    counts: Counts = field(default_factory=Counts)
    failures: list[tuple[str, str]] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    """Set on SIGINT/SIGTERM: take no new page; pages in flight finish and are kept."""
    budget: BudgetGuard | None = None
    """The project's monthly budget, when one applies; it sets `stopping` when spent."""

    @property
    def page_settings(self) -> PageSettings:
        render = self.spec.render
        return PageSettings(
            dpi=render.dpi, rasterizer=render.rasterizer, password=self.spec.source.pdf_password,
            limits=PageLimits(max_side=render.max_side),
        )

    async def in_worker(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run CPU work (render, encode) in the process pool, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, call_with, fn, args, kwargs)


def worker_count() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@asynccontextmanager
async def open_job(
    spec: JobSpec, store: Store, run_id: int, *, observer: RunObserver, stopping: asyncio.Event
) -> AsyncIterator[JobContext]:
    """Everything the documents of one run share, closed in reverse order on the way out."""
    async with AsyncExitStack() as stack:
        source = await stack.enter_async_context(open_storage(
            spec.resolve(spec.source.url), spec.source.s3,
            follow_symlinks=spec.source.follow_symlinks,
        ))
        output = await stack.enter_async_context(
            open_storage(spec.resolve(spec.output.url), spec.output.s3)
        )
        await check_source(source)
        await check_output(output)
        if isinstance(output, LocalStorage):
            await asyncio.to_thread(remove_dead_part_files, output.root)
        check_credentials(spec)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        pool = run_pool(stack, worker_count())  # under `up`: one pool for every job
        ledger = LedgerHook(
            store, job=spec.name, run_id=run_id,
            enterprise_project=spec.ocr.enterprise_project_id,
        )
        region = call_region(spec.ocr.region, spec.ocr.endpoint)
        await record_run_region(store, run_id, region)
        budget = await open_guard(
            store, project=spec.ocr.enterprise_project_id, api=spec.ocr.api, region=region,
            on_exceeded=spec.budget.on_exceeded if spec.budget else None, stopping=stopping,
        )
        if budget is not None:
            ledger.on_billed = budget.billed
        ocr = LazyOcr(spec, stack, session, ledger, stopping)  # starts at the first page
        yield JobContext(
            spec=spec, store=store, source=source, output=output, ocr=ocr, ledger=ledger,
            pool=pool, page_slots=asyncio.Semaphore(2 * spec.ocr.concurrency),
            observer=observer, stopping=stopping, budget=budget,
        )
