"""Work items: the documents (or page ranges of a large PDF) of one job run that any
number of workers share, each claimed with a lease its worker renews.

An item is `queued`, `claimed` (by `holder` until `lease_until`, Unix seconds), then
`done` or `failed`. A claim takes queued items and claimed ones whose lease ran out (a
worker killed outright stops renewing): one statement, `UPDATE ... WHERE id IN (SELECT
... LIMIT n FOR UPDATE SKIP LOCKED) RETURNING`, so on PostgreSQL racing claimers skip
each other's rows instead of waiting for them, and never both take one; SQLite runs the
same statement as one write (it has one writer; FOR UPDATE is not rendered there). A
clean stop gives the items back (`release`). Items are keyed by the job's id (`jobs.id`)
and dropped when the job ends (`forget`), so a retry lists afresh.

A document found to have many pages is split (`split`): its item keeps the first range
and the others are queued beside it. Whoever finishes the last range of a document
learns it from `finish` (the rows of the document are locked while it counts), writes
the document's outputs still holding the item, then `close`s it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pipeline.models import SourceObject
from pipeline.store.schema import listings, work_items

ItemState = Literal["queued", "claimed", "done", "failed"]

WORK_CHANNEL = "ocrpipe_work"
"""The PostgreSQL NOTIFY channel told of new claimable work (payload: the job id)."""


@dataclass(frozen=True)
class WorkItem:
    id: int
    job: str
    obj: SourceObject
    first_page: int
    last_page: int | None
    """Inclusive; None: the whole document."""
    attempts: int

    @property
    def pages(self) -> range | None:
        """The pages this item covers, or None for the whole document."""
        return None if self.last_page is None else range(self.first_page, self.last_page + 1)


def source_json(obj: SourceObject) -> str:
    return json.dumps(asdict(obj))  # ASCII: a key that is not UTF-8 survives as \\udcNN


def doc_key(obj: SourceObject) -> str:
    """The key as the database can store it (a key that is not UTF-8, escaped)."""
    return obj.key.encode("utf-8", "backslashreplace").decode("utf-8")


def _item(row: Any) -> WorkItem:
    return WorkItem(id=row.id, job=row.job, obj=SourceObject(**json.loads(row.source)),
                    first_page=row.first_page, last_page=row.last_page, attempts=row.attempts)


async def notify(conn: AsyncConnection, job: str) -> None:
    """Tell the listening workers (PostgreSQL) that `job` has new work, once `conn`'s
    transaction commits; nothing on SQLite (its workers poll)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_notify(:channel, :job)"),
                           {"channel": WORK_CHANNEL, "job": job})


def _insert_ignoring_duplicates(conn: AsyncConnection) -> Any:
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return dialect_insert(work_items).on_conflict_do_nothing()


class HasEngine(Protocol):
    @property
    def engine(self) -> AsyncEngine: ...


class WorkItems:
    """The `work_items` table of a `Store` (or of anything on its engine, such as a
    `JobQueue`): each method is one short transaction."""

    def __init__(self, store: HasEngine) -> None:
        self.engine = store.engine

    async def add(self, job: str, objects: Sequence[SourceObject], *,
                  conn: AsyncConnection | None = None) -> int:
        """Queue a whole-document item per object (one already there is left as it is:
        a resumed listing may list it again); how many were new. With `conn`, inside
        that transaction (the listing stores its continuation with the batch)."""
        if not objects:
            return 0
        rows = [dict(job=job, doc_key=doc_key(obj), first_page=0, last_page=None,
                     source=source_json(obj), state="queued", attempts=0) for obj in objects]
        if conn is None:
            async with self.engine.begin() as own:
                return await self.add(job, objects, conn=own)
        before = await self._count(conn, job)
        await conn.execute(_insert_ignoring_duplicates(conn), rows)
        added = await self._count(conn, job) - before
        if added:
            await notify(conn, job)
        return added

    @staticmethod
    async def _count(conn: AsyncConnection, job: str) -> int:
        return int((await conn.execute(
            select(func.count()).select_from(work_items).where(work_items.c.job == job)
        )).scalar_one())

    async def claim(self, job: str, holder: str, *, limit: int, lease: float) -> list[WorkItem]:
        """Up to `limit` items of `job`: queued ones, and claimed ones whose lease ran
        out, oldest first; each now held by `holder` for `lease` seconds."""
        now = time.time()
        claimable = and_(work_items.c.job == job, or_(
            work_items.c.state == "queued",
            and_(work_items.c.state == "claimed", work_items.c.lease_until < now),
        ))
        # a CTE, MATERIALIZED: as a plain `IN (subquery)` PostgreSQL may run the LIMIT
        # again per row and hand out more than `limit` (seen: 5 of 5 for a limit of 3)
        picked = (select(work_items.c.id).where(claimable).order_by(work_items.c.id)
                  .limit(limit).with_for_update(skip_locked=True)
                  .cte("picked").prefix_with("MATERIALIZED", dialect="postgresql"))
        statement = (
            update(work_items).where(and_(work_items.c.id.in_(select(picked.c.id)),
                                          claimable))
            .values(state="claimed", holder=holder, lease_until=now + lease,
                    attempts=work_items.c.attempts + 1)
            .returning(*work_items.c)
        )
        async with self.engine.begin() as conn:
            rows = (await conn.execute(statement)).all()
        return sorted((_item(row) for row in rows), key=lambda item: item.id)

    async def renew(self, holder: str, lease: float) -> set[int]:
        """Extend every lease `holder` has; the items it still holds."""
        async with self.engine.begin() as conn:
            held = await conn.execute(
                update(work_items)
                .where(and_(work_items.c.holder == holder, work_items.c.state == "claimed"))
                .values(lease_until=time.time() + lease)
                .returning(work_items.c.id)
            )
            return set(held.scalars())

    async def release(self, holder: str, ids: Sequence[int] | None = None) -> int:
        """Give items back (a clean stop): queued again, for anyone. `ids`: just these."""
        where = and_(work_items.c.holder == holder, work_items.c.state == "claimed")
        if ids is not None:
            where = and_(where, work_items.c.id.in_(list(ids)))
        async with self.engine.begin() as conn:
            given = (await conn.execute(
                update(work_items).where(where).values(state="queued", holder=None,
                                                       lease_until=None)
                .returning(work_items.c.job)
            )).scalars().all()
            for job in set(given):
                await notify(conn, job)
        return len(given)

    async def taken_over(self, ids: Sequence[int], holder: str) -> set[int]:
        """Of `ids`, the items another worker holds now (`holder`'s lease ran out and
        they were claimed again)."""
        if not ids:
            return set()
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(work_items.c.id).where(and_(
                work_items.c.id.in_(list(ids)), work_items.c.state == "claimed",
                work_items.c.holder != holder,
            )))
            return set(rows.scalars())

    async def finish(self, item: WorkItem, holder: str, state: ItemState = "done") -> bool:
        """Mark the item `state` (if `holder` still holds it). For a range of a split
        document: True when every other range of it is finished, i.e. this is its last;
        then the item stays claimed (its lease held) while its holder writes the
        document's outputs, and `close` ends it: a job is never seen finished before
        them, and a holder that dies meanwhile leaves the item to be taken over. The
        document's rows are locked while this counts, so of two last ranges finishing
        at once only one is told True."""
        if item.last_page is None:  # a whole document: no other item of it to wait for
            await self.close(item, holder, state)
            return False
        async with self.engine.begin() as conn:
            mine = and_(work_items.c.job == item.job, work_items.c.doc_key == doc_key(item.obj))
            if conn.dialect.name == "postgresql":  # the document's rows, in one order
                await conn.execute(select(work_items.c.id).where(mine)
                                   .order_by(work_items.c.id).with_for_update())
            else:  # SQLite: a write first takes the database's write lock, before reading
                await conn.execute(update(work_items).where(work_items.c.id == item.id)
                                   .values(attempts=work_items.c.attempts))
            left = (await conn.execute(select(func.count()).select_from(work_items).where(
                and_(mine, work_items.c.id != item.id,
                     work_items.c.state.in_(("queued", "claimed")))
            ))).scalar_one()
            if left == 0:
                return True
            await conn.execute(
                update(work_items).where(and_(work_items.c.id == item.id,
                                              work_items.c.holder == holder))
                .values(state=state, holder=None, lease_until=None)
            )
            await notify(conn, item.job)  # an owner waiting for the last items wakes
        return False

    async def close(self, item: WorkItem, holder: str, state: ItemState = "done") -> None:
        """End the item (if `holder` still holds it)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(work_items).where(and_(work_items.c.id == item.id,
                                              work_items.c.holder == holder))
                .values(state=state, holder=None, lease_until=None)
            )
            await notify(conn, item.job)  # an owner waiting for the last items wakes

    async def split(self, item: WorkItem, holder: str, page_count: int, size: int
                    ) -> WorkItem:
        """Cut a whole-document item into ranges of `size` pages: it keeps the first
        (returned), the rest are queued for anyone."""
        first = replace_range(item, 0, min(size, page_count) - 1)
        ranges = [(start, min(start + size, page_count) - 1)
                  for start in range(size, page_count, size)]
        async with self.engine.begin() as conn:
            await conn.execute(
                update(work_items).where(and_(work_items.c.id == item.id,
                                              work_items.c.holder == holder))
                .values(last_page=first.last_page)
            )
            if ranges:
                await conn.execute(_insert_ignoring_duplicates(conn), [
                    dict(job=item.job, doc_key=doc_key(item.obj), first_page=start, last_page=end,
                         source=source_json(item.obj), state="queued", attempts=0)
                    for start, end in ranges
                ])
                await notify(conn, item.job)
        return first

    async def counts(self, job: str) -> dict[str, int]:
        """Items of `job` by state."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(work_items.c.state, func.count()).where(work_items.c.job == job)
                .group_by(work_items.c.state)
            )
            return {state: int(n) for state, n in rows}

    async def documents(self, job: str) -> int:
        """Documents listed for `job` (a split one counts once)."""
        async with self.engine.connect() as conn:
            return int((await conn.execute(
                select(func.count(work_items.c.doc_key.distinct()))
                .where(work_items.c.job == job))).scalar_one())

    async def open_jobs(self) -> list[str]:
        """Jobs with an item to claim now (queued, or claimed with its lease run out)."""
        now = time.time()
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(work_items.c.job).where(or_(
                    work_items.c.state == "queued",
                    and_(work_items.c.state == "claimed", work_items.c.lease_until < now),
                )).distinct()
            )
            return list(rows.scalars())

    async def forget(self, job: str) -> None:
        """Drop the job's items and listing (the job ended; a retry lists afresh)."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(work_items).where(work_items.c.job == job))
            await conn.execute(delete(listings).where(listings.c.job == job))


def replace_range(item: WorkItem, first: int, last: int) -> WorkItem:
    return WorkItem(id=item.id, job=item.job, obj=item.obj, first_page=first, last_page=last,
                    attempts=item.attempts)


