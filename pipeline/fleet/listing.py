"""A job's source is listed once, by one worker, in batches the others start on at once.

The lister holds the listing's lease (the `listings` row of the job: holder and
lease_until, Unix seconds). Every `BATCH` objects it stores, in one transaction, the
batch as work items (`WorkItems.add`, which tells the listening workers) and the last
key of the batch: the continuation. A lister that dies stops renewing; once its lease
has run out the next one (`Listing.take`) starts after the stored key
(`pipeline/storage/resume.py`: S3's `StartAfter`), so a million-object bucket is never
listed from the start again, and no worker waits for its last page to begin.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from pipeline.models import SourceObject
from pipeline.store import Store
from pipeline.store.schema import listings
from pipeline.store.work_items import WorkItems

log = logging.getLogger(__name__)

BATCH = 100
"""Objects per stored batch: workers start on the first after 100 objects are listed."""


class ListingLost(Exception):
    """Another lister took this listing over (this one stalled past its lease)."""


@dataclass(frozen=True)
class ListingState:
    last_key: str | None
    """Where the listing resumes: the last key stored (None: from the start)."""
    listed: int
    finished: bool


class Listing:
    """The listing of one job run (`job`: the job's id), as seen by `holder`."""

    def __init__(self, store: Store, job: str, holder: str, lease: float) -> None:
        self.store, self.job, self.holder, self.lease = store, job, holder, lease
        self.items = WorkItems(store)

    async def state(self) -> ListingState | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(listings).where(listings.c.job == self.job))).first()
        return None if row is None else ListingState(row.last_key, row.listed, row.finished)

    async def take(self) -> ListingState | None:
        """The listing's lease, if it is unfinished and free (never taken, given back, or
        run out): where to resume. None when finished or another lister holds it."""
        now = time.time()
        try:
            async with self.store.engine.begin() as conn:
                await conn.execute(insert(listings).values(
                    job=self.job, last_key=None, listed=0, finished=False, holder=self.holder,
                    lease_until=now + self.lease,
                ))
            return ListingState(None, 0, False)
        except IntegrityError:
            pass  # listed before (or being listed): take it over if it is free
        async with self.store.engine.begin() as conn:
            taken = await conn.execute(
                update(listings).where(and_(
                    listings.c.job == self.job, listings.c.finished.is_(False),
                    or_(listings.c.holder.is_(None), listings.c.holder == self.holder,
                        listings.c.lease_until < now),
                )).values(holder=self.holder, lease_until=now + self.lease)
            )
            if taken.rowcount != 1:
                return None
            row = (await conn.execute(select(listings).where(listings.c.job == self.job))).one()
        if row.last_key is not None:
            log.info("job id=%s: listing resumed after %d objects", self.job, row.listed)
        return ListingState(row.last_key, row.listed, row.finished)

    async def store_batch(self, objects: list[SourceObject], *, finished: bool = False) -> int:
        """The batch as items and its last key as the continuation, in one transaction
        (`finished`: and the listing is complete); `ListingLost` if the lease is gone."""
        now = time.time()
        values: dict[str, object] = dict(lease_until=now + self.lease,
                                         listed=listings.c.listed + len(objects))
        if objects:
            values["last_key"] = objects[-1].key
        if finished:
            values.update(finished=True, holder=None, lease_until=None)
        async with self.store.engine.begin() as conn:
            held = await conn.execute(
                update(listings).where(and_(listings.c.job == self.job,
                                            listings.c.holder == self.holder))
                .values(**values)
            )
            if held.rowcount != 1:
                raise ListingLost(f"job id={self.job}: another worker took the listing over")
            return await self.items.add(self.job, objects, conn=conn)

    async def renew(self) -> bool:
        async with self.store.engine.begin() as conn:
            held = await conn.execute(
                update(listings).where(and_(listings.c.job == self.job,
                                            listings.c.holder == self.holder))
                .values(lease_until=time.time() + self.lease)
            )
        return bool(held.rowcount == 1)

    async def give_back(self) -> None:
        """A clean stop: the next worker resumes at once rather than after the lease."""
        async with self.store.engine.begin() as conn:
            await conn.execute(
                update(listings).where(and_(listings.c.job == self.job,
                                            listings.c.holder == self.holder))
                .values(holder=None, lease_until=None)
            )


async def list_into(listing: Listing, objects: AsyncIterator[SourceObject],
                    batch: int = BATCH) -> int:
    """Store `objects` (the listing from where it resumes) a batch at a time, then mark
    the listing finished; how many new items were stored."""
    pending: list[SourceObject] = []
    added = 0
    async for obj in objects:
        pending.append(obj)
        if len(pending) >= batch:
            added += await listing.store_batch(pending)
            pending = []
    added += await listing.store_batch(pending, finished=True)
    log.info("job id=%s: listing finished (%d new items)", listing.job, added)
    return added
