"""One document's trouble stays with that document (DESIGN.md invariant 1).

`process_isolated` is what the runner starts for each listed document. It wraps
`process_document` so that anything going wrong while the document is taken up, read,
rendered, recognised or written (an undecodable file name, an output path another
document already holds, a write the file system refuses, an exception nobody expected)
fails only that document, with a reason in plain words recorded in the state store and
the summary, and the job goes on. A worker process that dies breaks the shared pool:
the pool is renewed for every other document, and this document is tried once more in
a worker of its own, so a file that kills the renderer every time fails alone.

Job-wide causes still stop the job: configuration and auth errors, Ctrl-C, and a state
database that fails (`StateDatabaseError`, exit 2).
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from sqlalchemy.exc import DBAPIError

from pipeline.context import JobContext
from pipeline.document import process_document
from pipeline.errors import AuthError, ConfigError, JobInterrupted
from pipeline.explain import explain, leaves
from pipeline.models import DocumentOutcome, SourceObject
from pipeline.outputs import OutputClaims
from pipeline.renewable_pool import RenewablePool
from pipeline.workers import process_pool

log = logging.getLogger(__name__)

_STOPS_THE_JOB = (ConfigError, AuthError, JobInterrupted, asyncio.CancelledError,
                  KeyboardInterrupt, SystemExit, GeneratorExit)


class StateDatabaseError(ConfigError):
    """The state database failed while a document was recorded: the job cannot go on."""


def shown_key(key: str) -> str:
    """The key as text that can be printed and stored: bytes that are not UTF-8 in a
    file name appear as \\xNN."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(key).decode("utf-8", "backslashreplace")
    return key


def _name_problem(key: str) -> str | None:
    if shown_key(key) != key:
        return (
            "the file name is not valid UTF-8 (shown with \\x escapes): rename the file "
            "(e.g. `convmv -f latin1 -t utf-8`) and run the job again"
        )
    if any(ord(c) < 32 for c in key):
        return "the file name contains control characters (such as a newline): rename the file"
    return None


async def process_isolated(
    ctx: JobContext, obj: SourceObject, claims: OutputClaims, pages: range | None = None
) -> DocumentOutcome:
    """`process_document` (of `pages`: a range of a split document), with every
    per-document failure recorded instead of raised."""
    # checked before the first await: documents claim their outputs in listing order
    problem = _name_problem(obj.key) or claims.claim(obj.key)
    try:
        if problem is None:
            return await _with_one_retry(ctx, obj, pages)
    except BaseException as exc:  # sorted: job-wide or per-document
        _reraise_if_job_wide(exc)
        problem = explain(exc)
        log.debug("job=%s doc=%s failed", ctx.spec.name, shown_key(obj.key), exc_info=exc)
    finally:
        await asyncio.shield(ctx.ledger.settle(obj.key))
    await _record_failure(ctx, obj, problem)
    return "failed"


async def _with_one_retry(ctx: JobContext, obj: SourceObject,
                          pages: range | None = None) -> DocumentOutcome:
    pool = ctx.pool
    generation = pool.generation if isinstance(pool, RenewablePool) else 0
    try:
        return await process_document(ctx, obj, pages)
    except BaseException as exc:
        if not isinstance(pool, RenewablePool) or not _leaves_of_type(exc, BrokenProcessPool):
            raise
        _reraise_if_job_wide(exc)
    pool.renew(generation)
    log.warning(
        "job=%s doc=%s: a worker process died; trying this document once more, in a "
        "worker of its own", ctx.spec.name, shown_key(obj.key),
    )
    own = process_pool(1)
    try:
        return await process_document(replace(ctx, pool=own), obj, pages)
    finally:
        await asyncio.to_thread(own.shutdown, True)


def _leaves_of_type(exc: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(leaf, kind) for leaf in leaves(exc))


def _reraise_if_job_wide(exc: BaseException) -> None:
    found = leaves(exc)
    if any(isinstance(leaf, _STOPS_THE_JOB) for leaf in found):
        raise exc
    for leaf in found:
        if isinstance(leaf, DBAPIError):
            raise StateDatabaseError(
                f"the state database failed: {leaf.orig}; check the disk and "
                f"$OCRPIPE_DB, then run the job again"
            ) from leaf


async def _record_failure(ctx: JobContext, obj: SourceObject, problem: str) -> None:
    job, key = ctx.spec.name, shown_key(obj.key)
    try:
        state = await ctx.store.document(job, key)
        doc_id = state.id if state else await ctx.store.begin_document(
            job, replace(obj, key=key)
        )
        await ctx.store.finish_document(doc_id, status="failed", error=problem)
    except DBAPIError as exc:
        raise StateDatabaseError(
            f"the state database failed: {exc.orig}; check the disk and $OCRPIPE_DB"
        ) from exc
    ctx.counts.documents_failed += 1
    ctx.failures.append((key, problem))
    log.warning("job=%s doc=%s failed: %s", job, key, problem)
