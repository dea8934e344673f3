"""Runs one job: list the source, push each document through `process_document` with
bounded concurrency, and account for everything in the state store.

Order of things: open the store and take the job's lease (one run of a job at a time,
`joblock.py`), open the storages and probe them (`preflight.py`: bad paths fail before
any OCR call), open one HTTP session and one process pool, then stream the listing
(`intake.py`) into a TaskGroup bounded by a semaphore; the OCR endpoint (the embedded
service) starts at the first page to send (`lazy_ocr.py`). Each document runs isolated
(`isolation.py`): whatever goes wrong with it is recorded as its failure. The first
configuration or auth error cancels the whole group and is re-raised. SIGINT/SIGTERM
cancel the run; finished pages are already committed, so the next run resumes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import aiohttp

from pipeline.config import JobSpec
from pipeline.document import JobContext, Progress
from pipeline.errors import (
    EXIT_DOCUMENTS_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    JobInterrupted,
    OcrpipeError,
)
from pipeline.intake import documents as listed_documents
from pipeline.isolation import process_isolated
from pipeline.joblock import JobLease
from pipeline.lazy_ocr import LazyOcr, check_credentials, ocr_endpoint
from pipeline.ledger import LedgerHook
from pipeline.leftovers import remove_dead_part_files, run_temp_folder
from pipeline.outputs import OutputClaims
from pipeline.preflight import check_output, check_source
from pipeline.progress import ProgressBar
from pipeline.renewable_pool import RenewablePool
from pipeline.storage import LocalStorage, open_storage
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
    notices: tuple[str, ...] = ()
    """What the run left out and why (symbolic links, its own outputs), or found nothing."""

    @property
    def exit_code(self) -> int:
        return EXIT_DOCUMENTS_FAILED if self.documents_failed else EXIT_OK


__all__ = ["RunSummary", "install_signal_handlers", "ocr_endpoint", "run_job"]


def _pool() -> RenewablePool:
    return RenewablePool(lambda: process_pool(max(1, min(os.cpu_count() or 1, 8))))


async def run_job(
    spec: JobSpec, *, show_progress: bool = True, stopping: asyncio.Event | None = None,
    wait: bool = False, on_wait: Callable[[str], None] | None = None,
) -> RunSummary:
    """Run the job; `stopping` set (by a signal handler) stops it cleanly: JobInterrupted.
    Another run of the same job holding it: `JobBusy`, or with `wait` wait for it."""
    started = time.monotonic()
    store = await open_store()
    try:
        lease = await JobLease.take(
            store, spec.name, wait=wait, on_wait=on_wait, stopping=stopping
        )
    except BaseException:
        await store.close()
        raise
    run_id = await store.start_run(spec.name)
    status, exit_code = "failed", 2
    try:
        temp_dir = spec.resolve(spec.run.temp_dir) if spec.run.temp_dir else None
        with run_temp_folder(spec.name, temp_dir):  # leftovers of killed runs go first
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
        await asyncio.shield(lease.release())
        await store.close()


async def _run(
    spec: JobSpec, store: Store, run_id: int, started: float, show_progress: bool,
    stopping: asyncio.Event | None,
) -> RunSummary:
    concurrency = spec.ocr.concurrency
    async with AsyncExitStack() as stack:
        # storages first: a missing bucket or folder stops the job before the OCR service
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
        pool = stack.enter_context(_pool())
        ledger = LedgerHook(
            store, job=spec.name, run_id=run_id,
            enterprise_project=spec.ocr.enterprise_project_id,
        )
        stopping = stopping or asyncio.Event()
        limited = LazyOcr(spec, stack, session, ledger, stopping)  # starts at the first page
        bar = stack.enter_context(ProgressBar(spec.name, enabled=show_progress))
        progress = Progress(on_page=bar.page_done)
        ctx = JobContext(
            spec=spec, store=store, source=source, output=output, ocr=limited, ledger=ledger,
            pool=pool, page_slots=asyncio.Semaphore(2 * concurrency), progress=progress,
            stopping=stopping,
        )
        documents = asyncio.Semaphore(max(2, concurrency))
        claims, notices = OutputClaims(spec.output.formats), list[str]()

        try:
            async with asyncio.TaskGroup() as tg:
                async for obj in listed_documents(spec, source, notices):
                    await documents.acquire()
                    if ctx.stopping.is_set():
                        documents.release()
                        break
                    bar.document_found()
                    task = tg.create_task(
                        process_isolated(ctx, obj, claims), name=f"doc {obj.key!a}"
                    )
                    task.add_done_callback(lambda _: _document_finished(documents, bar))
        except BaseExceptionGroup as group:
            raise _first_error(group) from None
        interrupted = ctx.stopping.is_set()
    usage = await store.usage_summary(spec.name, run_id=run_id)
    summary = RunSummary(
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
        notices=tuple(notices),
    )
    if interrupted:  # the summary of what was done goes with it (cli.py prints it)
        raise JobInterrupted(
            f"stopped on request after {progress.pages_sent} pages; finished pages are "
            "saved: run the same job again to resume",
            summary=summary,
        )
    return summary


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
