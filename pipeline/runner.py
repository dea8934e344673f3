"""Runs one job: list the source, push each document through `process_document` with
bounded concurrency, and account for everything in the state store.

Order of things: open the store and the storages (bad paths fail before any OCR call),
start the embedded OCR service when asked, open one HTTP session and one process pool,
then stream the listing into a TaskGroup bounded by a semaphore. The first
configuration or auth error cancels the whole group and is re-raised; per-document
errors are only recorded. SIGINT/SIGTERM cancel the run; finished pages are already
committed, so the next run resumes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import aiohttp

from pipeline.config import JobSpec
from pipeline.document import JobContext, Progress, process_document
from pipeline.errors import (
    EXIT_DOCUMENTS_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    JobInterrupted,
    OcrpipeError,
)
from pipeline.ledger import LedgerHook
from pipeline.ocr.client import OcrClient
from pipeline.ocr.credentials import Credentials, load_credentials
from pipeline.ocr.policy import LimitedClient
from pipeline.ocr.token import token_provider_for
from pipeline.progress import ProgressBar
from pipeline.service.app import Limits
from pipeline.service.limits import MAX_CONNECTIONS
from pipeline.service.server import ServiceConfig, running_service
from pipeline.storage import open_storage
from pipeline.store import Store, open_store
from pipeline.workers import process_pool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    job: str
    documents_done: int
    documents_failed: int
    documents_skipped: int
    pages_sent: int
    pages_reused: int
    billed_calls: dict[str, int]
    elapsed: float
    output: str
    failures: tuple[tuple[str, str], ...]

    @property
    def exit_code(self) -> int:
        return EXIT_DOCUMENTS_FAILED if self.documents_failed else EXIT_OK


@asynccontextmanager
async def ocr_endpoint(spec: JobSpec) -> AsyncIterator[tuple[str, Credentials | None]]:
    """The endpoint and AK/SK to use: a fresh embedded service with a generated pair, or
    the configured endpoint (no AK/SK when the job authenticates with IAM tokens)."""
    if spec.ocr.endpoint != "embedded":
        yield spec.ocr.endpoint, None if spec.ocr.auth == "token" else load_credentials()
        return
    creds = Credentials(ak=secrets.token_hex(10).upper(), sk=secrets.token_hex(20))
    # Its one client is this job, on loopback: no cap per address below the total.
    config = ServiceConfig(
        host="127.0.0.1", port=0, workers=spec.ocr.embedded_workers,
        credentials={creds.ak: creds.sk},
        limits=Limits(max_connections_per_address=MAX_CONNECTIONS),
    )
    async with running_service(config) as url:
        yield url, creds


def _pool() -> ProcessPoolExecutor:
    return process_pool(max(1, min(os.cpu_count() or 1, 8)))


async def run_job(
    spec: JobSpec, *, show_progress: bool = True, stopping: asyncio.Event | None = None
) -> RunSummary:
    """Run the job; `stopping` set (by a signal handler) stops it cleanly: JobInterrupted."""
    started = time.monotonic()
    store = await open_store()
    run_id = await store.start_run(spec.name)
    status, exit_code = "failed", 2
    try:
        summary = await _run(spec, store, run_id, started, show_progress, stopping)
        status, exit_code = "done", summary.exit_code
        return summary
    except (asyncio.CancelledError, JobInterrupted):
        status, exit_code = "interrupted", EXIT_INTERRUPTED
        raise
    except OcrpipeError as exc:
        exit_code = exc.exit_code
        raise
    finally:
        await asyncio.shield(store.finish_run(run_id, status, exit_code))
        await store.close()


async def _run(
    spec: JobSpec, store: Store, run_id: int, started: float, show_progress: bool,
    stopping: asyncio.Event | None,
) -> RunSummary:
    concurrency = spec.ocr.concurrency
    async with AsyncExitStack() as stack:
        # storages first: a missing bucket or folder stops the job before the OCR service
        source = await stack.enter_async_context(
            open_storage(spec.resolve(spec.source.url), spec.source.s3)
        )
        output = await stack.enter_async_context(
            open_storage(spec.resolve(spec.output.url), spec.output.s3)
        )
        endpoint, creds = await stack.enter_async_context(ocr_endpoint(spec))
        session = await stack.enter_async_context(aiohttp.ClientSession())
        pool = stack.enter_context(_pool())
        ledger = LedgerHook(
            store, job=spec.name, run_id=run_id,
            enterprise_project=spec.ocr.enterprise_project_id,
        )
        client = OcrClient(
            session, endpoint=endpoint, project_id=spec.ocr.project_id, credentials=creds,
            token=token_provider_for(session, spec.ocr),
            enterprise_project_id=spec.ocr.enterprise_project_id, timeout=spec.ocr.timeout,
        )
        stopping = stopping or asyncio.Event()
        limited = LimitedClient(
            client, qps=spec.ocr.qps, concurrency=concurrency, on_attempt=ledger,
            stopping=stopping,
        )
        bar = stack.enter_context(ProgressBar(spec.name, enabled=show_progress))
        progress = Progress(on_page=bar.page_done)
        ctx = JobContext(
            spec=spec, store=store, source=source, output=output, ocr=limited, ledger=ledger,
            pool=pool, page_slots=asyncio.Semaphore(2 * concurrency), progress=progress,
            stopping=stopping,
        )
        documents = asyncio.Semaphore(max(2, concurrency))

        try:
            async with asyncio.TaskGroup() as tg:
                async for obj in source.list(spec.source.include, spec.source.exclude):
                    await documents.acquire()
                    if ctx.stopping.is_set():
                        documents.release()
                        break
                    bar.document_found()
                    task = tg.create_task(process_document(ctx, obj), name=f"doc {obj.key}")
                    task.add_done_callback(lambda _: _document_finished(documents, bar))
        except BaseExceptionGroup as group:
            raise _first_error(group) from None
        if ctx.stopping.is_set():
            raise JobInterrupted(
                f"stopped on request after {progress.pages_sent} pages; finished pages are "
                "saved: run the same job again to resume"
            )
    usage = await store.usage_summary(spec.name, run_id=run_id)
    return RunSummary(
        job=spec.name,
        documents_done=progress.documents_done,
        documents_failed=progress.documents_failed,
        documents_skipped=progress.documents_skipped,
        pages_sent=progress.pages_sent,
        pages_reused=progress.pages_reused,
        billed_calls={row["enterprise_project"]: int(row["billed"] or 0) for row in usage},
        elapsed=time.monotonic() - started,
        output=spec.resolve(spec.output.url),
        failures=tuple(ctx.failures),
    )


def _document_finished(slots: asyncio.Semaphore, bar: ProgressBar) -> None:
    slots.release()
    bar.document_done()


def _first_error(group: BaseExceptionGroup) -> BaseException:
    """The error that stopped the job: ours first (config, auth), else the first one."""
    flat: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(exc.exceptions)
        else:
            flat.append(exc)
    ours = [e for e in flat if isinstance(e, OcrpipeError)]
    return (ours or flat)[0]


def install_signal_handlers(
    task: asyncio.Task[RunSummary], stopping: asyncio.Event, grace: float
) -> None:
    """First SIGINT/SIGTERM: stop taking work, let calls in flight finish for up to
    `grace` seconds, then cancel. A second signal cancels at once. Either way finished
    pages are committed and the CLI exits 130."""
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if stopping.is_set():
            log.warning("%s again: stopping now", sig.name)
            task.cancel()
            return
        stopping.set()
        log.warning(
            "%s: finishing the OCR calls in flight (up to %g s), then stopping; "
            "send it again to stop now", sig.name, grace,
        )
        loop.call_later(grace, task.cancel)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
