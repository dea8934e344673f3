"""Runs one job: list the source, push each document through `process_document` with
bounded concurrency, and account for everything in the state store.

Order of things: open the store and take the job's lease (one run of a job at a time,
`joblock.py`); open the run's resources (`context.open_job`: storages, probed before any
OCR call by `preflight.py`; one HTTP session; one renewable process pool; the OCR
endpoint, started at the first page to send by `lazy_ocr.py`); then stream the listing
(`intake.py`) into a TaskGroup bounded by a semaphore. Each document runs isolated
(`isolation.py`): whatever goes wrong with it is recorded as its failure. The first
configuration or auth error cancels the whole group and is re-raised. SIGINT/SIGTERM stop
it cleanly; finished pages are already committed, so the next run resumes. Progress goes
to a `RunObserver` (the CLI's progress bar).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable

from pipeline.billing.after_run import books_after_run
from pipeline.config import JobSpec
from pipeline.context import JobContext, open_job
from pipeline.errors import ExitCode, JobInterrupted, OcrpipeError
from pipeline.fields_output import write_fields_tables
from pipeline.intake import documents as listed_documents
from pipeline.isolation import process_isolated
from pipeline.joblock import JobLease
from pipeline.leftovers import run_temp_folder
from pipeline.models import RunObserver, RunSummary, SilentObserver
from pipeline.outputs import OutputClaims
from pipeline.store import Store, open_store

log = logging.getLogger(__name__)


def exit_code_of(summary: RunSummary) -> ExitCode:
    return ExitCode.DOCUMENTS_FAILED if summary.documents_failed or summary.stopped else ExitCode.OK


async def run_job(
    spec: JobSpec, *, observer: RunObserver | None = None, stopping: asyncio.Event | None = None,
    wait: bool = False, on_wait: Callable[[str], None] | None = None,
    only: frozenset[str] | None = None,
) -> RunSummary:
    """Run the job; `stopping` set (by a signal handler) stops it cleanly: JobInterrupted.
    Another run of the same job holding it: `JobBusy`, or with `wait` wait for it. With
    `only` (a retry of failed documents), just the listed documents with these keys."""
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
    status, exit_code = "failed", int(ExitCode.CONFIG)
    try:
        temp_dir = spec.resolve(spec.run.temp_dir) if spec.run.temp_dir else None
        with run_temp_folder(spec.name, temp_dir):  # leftovers of killed runs go first
            summary = await _run(
                spec, store, run_id, started, observer or SilentObserver(),
                stopping or asyncio.Event(), only,
            )
        status, exit_code = summary.stopped or "done", int(exit_code_of(summary))
        return summary
    except (asyncio.CancelledError, JobInterrupted):
        status, exit_code = "interrupted", int(ExitCode.INTERRUPTED)
        raise
    except OcrpipeError as exc:
        exit_code = exc.exit_code
        raise
    finally:
        await asyncio.shield(store.finish_run(run_id, status, exit_code))
        await asyncio.shield(lease.release())
        await store.close()


async def _run(
    spec: JobSpec, store: Store, run_id: int, started: float, observer: RunObserver,
    stopping: asyncio.Event, only: frozenset[str] | None = None,
) -> RunSummary:
    notices: list[str] = []
    async with open_job(spec, store, run_id, observer=observer, stopping=stopping) as ctx:
        await process_listing(ctx, notices, only)
        stopped_by_budget = ctx.budget is not None and ctx.budget.stopped_job
        interrupted = ctx.stopping.is_set() and not stopped_by_budget
        if not interrupted:
            await write_fields_tables(ctx)  # per job: csv / xlsx, from the stored results
    usage = await store.usage_summary(spec.name, run_id=run_id)
    await books_after_run(store)  # what paid for each call; alerts the run crossed
    counts = ctx.counts
    summary = RunSummary(
        job=spec.name,
        documents_done=counts.documents_done,
        documents_failed=counts.documents_failed,
        documents_skipped=counts.documents_skipped,
        pages_sent=counts.pages_sent,
        pages_reused=counts.pages_reused,
        billed_calls={row["enterprise_project"]: int(row["billed"] or 0) for row in usage},
        elapsed=time.monotonic() - started,
        output=spec.resolve(spec.output.url),
        failures=tuple(ctx.failures),
        notices=tuple(notices) + ((ctx.budget.message(),) if ctx.budget and stopped_by_budget
                                  else ()),
        calls_saved={row["enterprise_project"]: int(row.get("saved") or 0) for row in usage
                     if row.get("saved")},
        saved_reasons=dict(counts.calls_saved),
        stopped="budget" if stopped_by_budget else None,
    )
    if interrupted:  # the summary of what was done goes with it (cli.py prints it)
        raise JobInterrupted(
            f"stopped on request after {counts.pages_sent} pages; finished pages are "
            "saved: run the same job again to resume",
            summary=summary,
        )
    return summary


async def process_listing(ctx: JobContext, notices: list[str] | None = None,
                          only: frozenset[str] | None = None) -> None:
    """Every listed document (with `only`: of these keys) through `process_isolated`, a
    bounded number at a time, each claiming its output paths in listing order. `notices`
    gets what the listing left out."""
    spec = ctx.spec
    documents = asyncio.Semaphore(max(2, spec.ocr.concurrency))
    claims = OutputClaims(spec.output.formats)
    try:
        async with asyncio.TaskGroup() as tg:
            async for obj in listed_documents(
                spec, ctx.source, notices if notices is not None else [], only
            ):
                await documents.acquire()
                if ctx.stopping.is_set():
                    documents.release()
                    break
                ctx.observer.document_found()
                task = tg.create_task(
                    process_isolated(ctx, obj, claims), name=f"doc {obj.key!a}"
                )
                task.add_done_callback(lambda _: _document_finished(documents, ctx))
    except BaseExceptionGroup as group:
        raise first_error(group) from None


def _document_finished(slots: asyncio.Semaphore, ctx: JobContext) -> None:
    slots.release()
    ctx.observer.document_done()


def first_error(group: BaseExceptionGroup) -> BaseException:
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
