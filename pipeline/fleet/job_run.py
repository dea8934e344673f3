"""One worker process's part of a job that several workers share.

The job's **owner** (the worker that claimed the job from the queue, `JobQueue.claim`)
lists the source (`listing.py`, once, resumable) and, once the listing is finished and
no item is queued or claimed, ends the job. **Helpers** (workers with no job of their
own) claim items of a running job until none is left to claim. Both claim items a few at
a time (`WorkItems.claim`: `FOR UPDATE SKIP LOCKED` on PostgreSQL), renew their leases
every lease/3, and wake on `LISTEN/NOTIFY` (`notify.py`) or a poll.

Each item goes through `process_isolated` as a listed document does in `runner.py`: a
page already stored is never sent again, so an item taken over from a dead worker sends
only the pages it had not finished. A whole document found to have more than
`split_above` pages is split into ranges of `range_size` pages that other workers claim;
whoever finishes the last range of a document (`WorkItems.finish` says so) runs the
whole document once more, which reuses every stored page and writes the outputs.

A clean stop (`stopping` set) lets the calls in flight finish, gives every item still
held back (`queued`, for anyone, at once) and the listing lease too; then
`JobInterrupted`, as `run_job` does, so the job worker queues the job again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, or_, select

from pipeline.config import JobSpec
from pipeline.context import JobContext, open_job
from pipeline.errors import JobInterrupted
from pipeline.fleet.held import HELD
from pipeline.fleet.listing import Listing, ListingLost, list_into
from pipeline.fleet.notify import WorkSignal
from pipeline.intake import documents as listed_documents
from pipeline.isolation import process_isolated
from pipeline.light_pages import inspect_here
from pipeline.models import RunSummary, SilentObserver, SourceObject
from pipeline.outputs import OutputClaims
from pipeline.render import inspect_document
from pipeline.runner import first_error
from pipeline.store import JobQueue, Store, open_store
from pipeline.store.schema import documents, jobs, runs, usage
from pipeline.store.work_items import ItemState, WorkItem, WorkItems

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FleetSettings:
    lease: float = 30.0
    """Seconds an item's claim holds unrenewed: a killed worker's items wait this long."""
    poll: float = 1.0
    """Seconds between looks for work when no notification comes (SQLite: always)."""
    split_above: int = 20
    """A document of more pages than this is split into page ranges."""
    range_size: int = 20

    @property
    def renew_every(self) -> float:
        return max(0.2, self.lease / 3)


@dataclass
class ItemRun:
    """What one process does on one job: owner or helper."""

    spec: JobSpec
    job_id: str
    holder: str
    settings: FleetSettings
    stopping: asyncio.Event
    owner: bool
    only: frozenset[str] | None = None
    notices: list[str] = field(default_factory=list)
    _listing: Listing | None = None
    _listing_done: bool = False
    _store: Store | None = None
    _tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    """The items in progress here, by id."""

    async def run(self) -> RunSummary:
        """Work on the job until it is done (owner), nothing is left to claim (helper),
        or `stopping` is set (`JobInterrupted`)."""
        started = time.monotonic()
        store = self._store = await open_store()
        try:
            run_id = await (store.start_run(self.spec.name) if self.owner
                            else _helper_run(store, self.spec.name))
            status = "failed"
            try:
                ctx = await self._work(store, run_id)
                status = "interrupted" if self.stopping.is_set() else "done"
            finally:
                await asyncio.shield(store.finish_run(run_id, status, 0))
            if self.stopping.is_set():
                raise JobInterrupted(
                    f"stopped on request after {ctx.counts.pages_sent} pages; its work "
                    "items are queued again for the other workers")
            if self.owner:
                await WorkItems(store).forget(self.job_id)  # a retry lists afresh
            return await _summary(store, ctx, started, self.notices, whole_job=self.owner)
        finally:
            await store.close()

    async def _work(self, store: Store, run_id: int) -> JobContext:
        items = WorkItems(store)
        spec = self.spec
        async with (open_job(spec, store, run_id, observer=SilentObserver(),
                             stopping=self.stopping) as ctx,
                    WorkSignal(store.engine.url, self.settings.poll) as signal):
            HELD.add(spec.name, ctx.ocr)
            keeper = asyncio.create_task(self._keep(items), name=f"leases {self.job_id}")
            try:
                async with asyncio.TaskGroup() as tg:
                    if self.owner:
                        tg.create_task(self._list(ctx, store, signal), name="listing")
                    await self._claim_loop(ctx, items, signal, tg)
            except BaseExceptionGroup as group:
                raise first_error(group) from None
            finally:
                keeper.cancel()
                HELD.discard(spec.name, ctx.ocr)
                await asyncio.shield(self._give_back(items))
        return ctx

    async def _claim_loop(self, ctx: JobContext, items: WorkItems, signal: WorkSignal,
                          tg: asyncio.TaskGroup) -> None:
        capacity = max(2, self.spec.ocr.concurrency)  # items in progress at once
        claims = OutputClaims(self.spec.output.formats)
        running: set[asyncio.Task[None]] = set()

        def ended(task: asyncio.Task[None]) -> None:
            running.discard(task)
            for item_id in [i for i, t in self._tasks.items() if t is task]:
                del self._tasks[item_id]
            signal.kick()  # a slot is free: claim again

        while not self.stopping.is_set():
            free = capacity - len(running)
            got = [] if free < 1 else await items.claim(
                self.job_id, self.holder, limit=free, lease=self.settings.lease)
            for item in got:
                task = tg.create_task(self._item(ctx, items, claims, item),
                                      name=f"item {item.id}")
                running.add(task)
                self._tasks[item.id] = task
                task.add_done_callback(ended)
            if got:
                continue
            if not running and await self._finished(items):
                return
            await signal.wait()

    async def _finished(self, items: WorkItems) -> bool:
        """Owner: the listing is finished and no item is queued or claimed. Helper: no
        item is queued (what others hold is theirs) and the listing will add none."""
        assert self._store is not None
        listing = await Listing(self._store, self.job_id, self.holder, 1).state()
        if listing is None:
            return not self.owner  # the owner ended the job (helper), or not yet listed
        if not listing.finished:
            return False
        counts = await items.counts(self.job_id)
        if self.owner:
            return not counts.get("queued") and not counts.get("claimed")
        return not counts.get("queued")

    async def _list(self, ctx: JobContext, store: Store, signal: WorkSignal) -> None:
        """Take the listing's lease (waiting for a dead lister's to run out) and list."""
        listing = Listing(store, self.job_id, self.holder, self.settings.lease)
        while not self.stopping.is_set():
            state = await listing.take()
            if state is None:
                now = await listing.state()
                if now is not None and now.finished:  # by an earlier owner of the job
                    await self._note_listed(store)
                    return
                await signal.wait(self.settings.poll)
                continue
            self._listing = listing
            try:
                objects = listed_documents(self.spec, ctx.source, self.notices, self.only,
                                           after=state.last_key)
                await list_into(listing, _until(objects, self.stopping))
                if not self.stopping.is_set():
                    self._listing_done = True
                    await self._note_listed(store)
                    return
            except ListingLost as exc:
                log.warning("%s; this worker only claims work now", exc)
                self._listing = None
                return
            finally:
                if not self._listing_done and self._listing is not None:
                    await asyncio.shield(listing.give_back())
                self._listing = None

    async def _note_listed(self, store: Store) -> None:
        """The job's document count, for its ETA (the listing is the count: no second
        listing of the source is made for it)."""
        listed = await WorkItems(store).documents(self.job_id)
        await JobQueue(store).note_listed(self.job_id, self.holder, listed)

    async def _item(self, ctx: JobContext, items: WorkItems, claims: OutputClaims,
                    item: WorkItem) -> None:
        if item.last_page is None and self.settings.split_above > 0:
            item = await self._maybe_split(ctx, items, item)
        outcome = await process_isolated(ctx, item.obj, claims, item.pages)
        if outcome == "interrupted":  # its finished pages are stored; the rest is anyone's
            await self._give_back(items, [item.id])
            return
        state: ItemState = "failed" if outcome == "failed" else "done"
        if not await items.finish(item, self.holder, state):
            self._tasks.pop(item.id, None)  # no longer held
            return
        # the last range of a split document: its pages are stored, the outputs not yet;
        # the item stays held meanwhile, so the job does not end before them
        log.info("job=%s doc=%s: last range done; writing the outputs",
                 self.spec.name, item.obj.key)
        if await process_isolated(ctx, item.obj, claims) == "interrupted":
            await self._give_back(items, [item.id])  # the next claimer writes them
            return
        await items.close(item, self.holder, state)
        self._tasks.pop(item.id, None)

    async def _maybe_split(self, ctx: JobContext, items: WorkItems, item: WorkItem
                           ) -> WorkItem:
        """The item, or the first page range of it when the document is large."""
        if not item.obj.key.lower().endswith(".pdf"):
            return item
        try:
            async with ctx.source.local_path(item.obj) as path:
                info = await inspect_here(path)
                if info is None:
                    info = await ctx.in_worker(inspect_document, path,
                                               password=self.spec.source.pdf_password)
        except Exception:  # process_isolated reports what is wrong with it
            return item
        if info.page_count <= self.settings.split_above:
            return item
        log.info("job=%s doc=%s: %d pages, split in ranges of %d", self.spec.name,
                 item.obj.key, info.page_count, self.settings.range_size)
        return await items.split(item, self.holder, info.page_count, self.settings.range_size)

    async def _keep(self, items: WorkItems) -> None:
        """Renew this holder's item leases (and the listing's) every lease/3."""
        while True:
            await asyncio.sleep(self.settings.renew_every)
            try:
                held = await items.renew(self.holder, self.settings.lease)
                await self._drop_lost(items, held)
                if self._listing is not None:
                    await self._listing.renew()
                if not self.owner and not await self._job_running(items):
                    log.info("job id=%s ended or is cancelling: this helper stops", self.job_id)
                    self.stopping.set()
            except Exception:  # a missed renewal is tried again; the lease is 3 of them
                log.exception("job id=%s: renewing the leases failed; trying again",
                              self.job_id)

    async def _drop_lost(self, items: WorkItems, held: set[int]) -> None:
        """Stop working on items another worker took over (this process stalled past
        their lease): their pages not yet sent are that worker's now. (An item missing
        from `held` may just have been claimed or finished meanwhile: the database says
        which are another's.)"""
        missing = [i for i, task in self._tasks.items() if i not in held and not task.done()]
        lost = await items.taken_over(missing, self.holder)
        for item_id in lost:
            task = self._tasks.get(item_id)
            if task is not None and not task.done():
                log.warning("job id=%s: item %d was taken over by another worker (its "
                            "lease ran out here); leaving it", self.job_id, item_id)
                task.cancel()

    async def _job_running(self, items: WorkItems) -> bool:
        async with items.engine.connect() as conn:
            status = (await conn.execute(
                select(jobs.c.status).where(jobs.c.id == self.job_id))).scalar_one_or_none()
        return status in ("running", "queued")

    async def _give_back(self, items: WorkItems, ids: list[int] | None = None) -> None:
        """Queue the items held (`ids`: these) again; failing that, their leases run out."""
        try:
            given = await items.release(self.holder, ids)
        except Exception as exc:  # the leases run out instead
            log.warning("job id=%s: could not give the items back: %s", self.job_id, exc)
            return
        if given:
            log.info("job id=%s: %d items given back", self.job_id, given)


async def _until(objects: AsyncIterator[SourceObject], stopping: asyncio.Event
                 ) -> AsyncIterator[SourceObject]:
    """The listing, until the worker stops (the rest is listed by the next lister)."""
    async for obj in objects:
        if stopping.is_set():
            return
        yield obj


async def _helper_run(store: Store, job: str) -> int:
    """A run row for a helper (not `start_run`: the owner's attempts in flight are not
    the leftovers of a crash)."""
    async with store.engine.begin() as conn:
        row = await conn.execute(insert(runs).values(
            job=job, started_at=_utcnow(), status="running"))
        return int(row.inserted_primary_key[0])  # type: ignore[index]


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def _summary(store: Store, ctx: JobContext, started: float,
                   notices: list[str], *, whole_job: bool) -> RunSummary:
    """This process's counts, with the documents done and failed of the whole job from the
    state store. For the job's owner (`whole_job`: its summary is the job's) the pages and
    time are the fleet's: the pages every worker sent to OCR (from the ledger) since the
    first run of this job that was still going when this one started (a helper may have
    done all the sending before a new owner took the job over)."""
    spec = ctx.spec
    now = datetime.now(UTC)
    elapsed = time.monotonic() - started
    since = now - timedelta(seconds=elapsed)
    async with store.engine.connect() as conn:
        if whole_job:
            first = (await conn.execute(
                select(func.min(runs.c.started_at)).where(
                    runs.c.job == spec.name,
                    or_(runs.c.finished_at.is_(None), runs.c.finished_at >= since)))).scalar()
            if first is not None:
                first = first if first.tzinfo else first.replace(tzinfo=UTC)
                since = min(since, first)
                elapsed = max(elapsed, (now - since).total_seconds())
        by_status: dict[str, int] = dict((await conn.execute(
            select(documents.c.status, func.count()).where(documents.c.job == spec.name)
            .group_by(documents.c.status))).all())
        sent = (select(usage.c.doc_key, usage.c.page_index).distinct()
                .where(usage.c.job == spec.name, usage.c.started_at >= since,
                       usage.c.outcome != "saved").subquery())
        fleet_sent = int((await conn.execute(
            select(func.count()).select_from(sent))).scalar() or 0)
    per_project = await store.usage_summary(spec.name)
    counts = ctx.counts
    return RunSummary(
        job=spec.name, documents_done=int(by_status.get("done", 0)),
        documents_failed=int(by_status.get("failed", 0)),
        documents_skipped=counts.documents_skipped,
        pages_sent=(max(counts.pages_sent, fleet_sent) if whole_job
                    else counts.pages_sent),
        pages_reused=counts.pages_reused,
        billed_calls={row["enterprise_project"]: int(row["billed"] or 0) for row in per_project},
        elapsed=elapsed, output=spec.resolve(spec.output.url),
        failures=tuple(ctx.failures), notices=tuple(notices),
    )


