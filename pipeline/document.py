"""One document through every stage: the arrow chain of DESIGN.md, in code.

`process_document` reads like the data flow: skip if unchanged, inspect, recognise each
page (render -> prepare -> Base64 in a worker process, or in a thread for a small file
sent as it is: `light_pages.py`; then OCR under the limiter),
write the outputs, record the outcome. Per-document problems end as an error record;
configuration and auth errors propagate and stop the job.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from pipeline import light_pages
from pipeline.config import JobSpec
from pipeline.context import JobContext
from pipeline.errors import (
    AuthError,
    CallNotSent,
    ConfigError,
    DocumentError,
    OcrError,
    OcrpipeError,
)
from pipeline.explain import WorkerDied, explain
from pipeline.layout_model import detect_regions_b64
from pipeline.models import (
    DocumentOutcome,
    DocumentResult,
    OcrRequest,
    OcrResult,
    PageGeometry,
    PageResult,
    Region,
    SourceObject,
)
from pipeline.ocr_choice import request_options
from pipeline.output_files import write_outputs
from pipeline.page_worker import prepare_page
from pipeline.protocol.apis import api
from pipeline.recognizer_layout import RECOGNIZER, answer_regions, layout_options
from pipeline.render import DocumentInfo, inspect_document
from pipeline.reuse import reuse_pages
from pipeline.saved import record_no_call
from pipeline.store import DocumentState
from pipeline.triage import NoCall, triage_page
from pipeline.writers import document_formats, output_key

log = logging.getLogger(__name__)


async def process_document(
    ctx: JobContext, obj: SourceObject, pages: range | None = None
) -> DocumentOutcome:
    """With `pages` (a range of a document split among workers: pipeline/fleet/), only
    those pages are recognised and stored; the outputs wait for the whole document."""
    job = ctx.spec.name
    state = await ctx.store.document(job, obj.key)
    obj = await _identified(ctx, obj, state)
    if state is not None and await _unchanged(ctx, obj, state):
        if obj.fingerprint != state.fingerprint:  # touched, same content: hash no more
            await ctx.store.remember_fingerprint(state.id, obj.fingerprint)
        ctx.counts.documents_skipped += 1
        log.info("job=%s doc=%s skipped: unchanged since the last run", job, obj.key)
        return "skipped"
    doc_id = await ctx.store.begin_document(job, obj, new=state is None)
    try:
        async with ctx.source.local_path(obj) as path:
            info = await light_pages.inspect_here(path)
            if info is None:
                info = await ctx.in_worker(
                    inspect_document, path, password=ctx.spec.source.pdf_password
                )
            await ctx.store.note_page_count(doc_id, info.page_count)
            recognized = await _recognize_pages(ctx, doc_id, obj, path, info, pages)
            if recognized is None:
                log.info("job=%s doc=%s interrupted: finished pages kept", job, obj.key)
                return "interrupted"
            if len(recognized) < info.page_count:  # a range: its pages are stored
                return "partial"
            outputs = await write_outputs(ctx, DocumentResult(obj, recognized), path)
    except (DocumentError, OcrError) as exc:
        if not _is_per_document(exc):
            raise
        await ctx.store.finish_document(doc_id, status="failed", error=str(exc))
        ctx.counts.documents_failed += 1
        ctx.failures.append((obj.key, str(exc)))
        log.warning("job=%s doc=%s failed: %s", job, obj.key, exc)
        return "failed"
    await ctx.store.finish_document(doc_id, status="done", page_count=len(recognized),
                                    outputs=outputs)
    ctx.counts.documents_done += 1
    log.info("job=%s doc=%s done: %d pages", job, obj.key, len(recognized))
    return "done"


def _is_per_document(exc: OcrpipeError) -> bool:
    """Config and auth errors stop the job; everything else fails only this document."""
    return not isinstance(exc, ConfigError | AuthError)


async def _identified(
    ctx: JobContext, obj: SourceObject, state: DocumentState | None
) -> SourceObject:
    """`obj` with its change token: the one recorded last time while the file's
    fingerprint is the same, else the storage's (a local file is hashed now)."""
    if obj.change_token is not None:
        return obj
    if state is not None and state.change_token and obj.fingerprint == state.fingerprint:
        return replace(obj, change_token=state.change_token)
    return replace(obj, change_token=await ctx.source.change_token(obj))


async def _unchanged(ctx: JobContext, obj: SourceObject, state: DocumentState) -> bool:
    if state.status != "done" or state.change_token != obj.change_token:
        return False
    keys = [output_key(obj.key, fmt) for fmt in document_formats(ctx.spec.output.formats)]
    return all(await asyncio.gather(*(ctx.output.exists(k) for k in keys)))


async def _recognize_pages(
    ctx: JobContext, doc_id: int, obj: SourceObject, path: str, info: DocumentInfo,
    pages: range | None = None,
) -> tuple[PageResult, ...] | None:
    """Every page's (of `pages`) result (saved ones reused), or None when the job is
    stopping."""
    if info.page_count < 1:
        raise DocumentError("the document has no pages")
    saved = await ctx.store.saved_pages(doc_id)
    saved.update(await reuse_pages(ctx, doc_id, obj, info.page_count, saved))
    results: dict[int, PageResult | OcrpipeError] = {}
    wanted = range(info.page_count) if pages is None else range(
        max(0, pages.start), min(pages.stop, info.page_count))
    async with asyncio.TaskGroup() as tg:
        for index in wanted:
            if index in saved:
                results[index] = saved[index]
                ctx.counts.pages_reused += 1
                ctx.observer.page_done()
                continue
            await ctx.page_slots.acquire()  # bounds the pages held in memory, job-wide
            if ctx.stopping.is_set():
                ctx.page_slots.release()
                break
            task = tg.create_task(
                _recognize_page(ctx, doc_id, obj, path, index, results),
                name=f"page {obj.key}#{index + 1}",
            )
            task.add_done_callback(lambda _: ctx.page_slots.release())
    if any(isinstance(r, WorkerDied) for r in results.values()):
        raise BrokenProcessPool("a worker process died while this document was rendered")
    if len(results) < len(wanted):  # stopped before every page was sent
        return None
    failed = [(i, r) for i, r in sorted(results.items()) if isinstance(r, OcrpipeError)]
    if failed:
        index, error = failed[0]
        more = f" (and {len(failed) - 1} more pages)" if len(failed) > 1 else ""
        where = f"page {index + 1}: " if info.page_count > 1 else ""
        raise DocumentError(f"{where}{error}{more}")
    return tuple(r for _, r in sorted(results.items()) if isinstance(r, PageResult))


async def _recognize_page(
    ctx: JobContext, doc_id: int, obj: SourceObject, path: str, index: int,
    results: dict[int, PageResult | OcrpipeError],
) -> None:
    """One page: a per-page error is kept in `results`; config/auth errors propagate."""
    spec = ctx.spec
    try:
        triaged = await _triage(ctx, path, obj.key, index)
        if isinstance(triaged, NoCall):
            await asyncio.shield(record_no_call(
                ctx, doc_id, obj.key, obj.change_token, triaged.page, triaged.reason
            ))
            results[index] = triaged.page
            ctx.observer.page_done()
            return
        page, image_b64 = triaged
        request = OcrRequest(
            obj.key, index, image_b64, page.image_width, page.image_height, spec.ocr.api,
            _options(spec),
        )
        result, regions = await _recognize_and_lay_out(ctx, request)
    except CallNotSent:
        return  # stopping: the page stays unsent, the next run sends it
    except (DocumentError, OcrError) as exc:
        if not _is_per_document(exc):
            raise
        results[index] = exc
        return
    except BrokenProcessPool:  # the document is tried again (isolation.py), once the
        results[index] = WorkerDied("a worker process died")  # pages in flight are saved
        return
    except Exception as exc:  # an odd page or a bug: this page fails, the others finish
        results[index] = DocumentError(explain(exc))
        return
    done = PageResult(index, result, page, regions)
    billed = ctx.ledger.take_billed(obj.key, index)
    await asyncio.shield(
        ctx.store.save_page(doc_id, done, change_token=obj.change_token, attempts=billed)
    )
    results[index] = done
    ctx.counts.pages_sent += 1
    ctx.observer.page_done()


async def _recognize_and_lay_out(
    ctx: JobContext, request: OcrRequest
) -> tuple[OcrResult, tuple[Region, ...] | None]:
    """The OCR call, and meanwhile (when the job wants it) the page's layout regions."""
    if not ctx.spec.output.wants_layout:
        return await ctx.ocr.recognize(request), None
    if request.api == RECOGNIZER:  # it answers the layout itself; else the model, after
        result = await ctx.ocr.recognize(request)
        found = answer_regions(result)
        return result, found if found is not None else await _regions(ctx, request)
    layout = asyncio.ensure_future(_regions(ctx, request))
    try:
        result = await ctx.ocr.recognize(request)
    except BaseException:
        layout.cancel()
        raise
    return result, await layout


async def _regions(ctx: JobContext, request: OcrRequest) -> tuple[Region, ...] | None:
    """The layout regions of the page as sent, found in a worker process while OCR runs;
    a page whose layout cannot be found is still written, as paragraphs of its lines."""
    try:
        return await ctx.in_worker(detect_regions_b64, request.image_b64)
    except BrokenProcessPool:
        raise
    except Exception as exc:
        log.warning("job=%s doc=%s page %d: no layout regions: %s",
                    ctx.spec.name, request.doc_key, request.page_index + 1, explain(exc))
        return None


async def _triage(
    ctx: JobContext, path: str, doc_key: str, index: int
) -> NoCall | tuple[PageGeometry, str]:
    """The page's result without an OCR call (a trusted text layer, a blank page), or the
    page ready to send: a light image prepared here, anything else in a worker process."""
    ocr = ctx.spec.ocr
    prepared = await light_pages.prepare_here(
        path, doc_key, index, ctx.page_settings, blank_pages=ocr.skip_blank_pages
    )
    if prepared is None:
        return await ctx.in_worker(
            triage_page, path, doc_key, index, ctx.page_settings,
            text_pages=ocr.skip_text_pages and api(ocr.api).kind == "text",
            blank_pages=ocr.skip_blank_pages, prepare=prepare_page,
        )
    return prepared


def _options(spec: JobSpec) -> tuple[tuple[str, object], ...]:
    options = request_options(spec.ocr.options, detect_direction=spec.ocr.detect_direction,
                              language=spec.ocr.language)
    return layout_options(spec.ocr.api, options) if spec.output.wants_layout else options
