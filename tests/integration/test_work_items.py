"""Work items (issue 17): claims never hand one item to two workers, an expired lease is
taken over, a clean stop gives items back, the last range of a split document is told
once; on SQLite and PostgreSQL. Each claimer has its own store (its own connections), as
separate processes would."""

from __future__ import annotations

import asyncio
from collections import Counter

from pipeline.models import SourceObject
from pipeline.store import Store, open_store
from pipeline.store.work_items import WorkItem, WorkItems

CLAIMERS = 6
ITEMS = 120


def objects(n: int) -> list[SourceObject]:
    return [SourceObject(key=f"doc{i:04}.png", url=f"/in/doc{i:04}.png", size=i)
            for i in range(n)]


async def drain(store: Store, job: str, holder: str) -> list[int]:
    """Claim (a few at a time) and finish until nothing is left to claim."""
    items, taken = WorkItems(store), []
    while got := await items.claim(job, holder, limit=3, lease=60):
        assert len(got) <= 3  # (PostgreSQL once gave more: see WorkItems.claim)
        for item in got:
            taken.append(item.id)
            await items.finish(item, holder)
    return taken


async def test_racing_claimers_never_share_an_item(store_url: str) -> None:
    stores = [await open_store(store_url) for _ in range(CLAIMERS)]
    try:
        assert await WorkItems(stores[0]).add("job_a", objects(ITEMS)) == ITEMS
        assert await WorkItems(stores[0]).add("job_a", objects(ITEMS)) == 0  # listed again
        results = await asyncio.gather(
            *(drain(store, "job_a", f"w{k}") for k, store in enumerate(stores)))
        claimed = Counter(i for taken in results for i in taken)
        assert len(claimed) == ITEMS and set(claimed.values()) == {1}
        assert await WorkItems(stores[0]).counts("job_a") == {"done": ITEMS}
    finally:
        for store in stores:
            await store.close()


async def test_an_expired_lease_is_taken_over(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        items = WorkItems(store)
        await items.add("job_a", objects(2))
        dead = await items.claim("job_a", "dead", limit=2, lease=0.3)
        assert len(dead) == 2
        assert await items.claim("job_a", "live", limit=2, lease=60) == []  # still held
        await asyncio.sleep(0.4)  # the dead worker renewed nothing
        taken = await items.claim("job_a", "live", limit=5, lease=60)
        assert [i.id for i in taken] == [i.id for i in dead]
        assert all(i.attempts == 2 for i in taken)
        assert await items.renew("dead", 60) == set()  # its leases are gone
        ids = [i.id for i in dead]
        assert await items.taken_over(ids, "dead") == set(ids)
        assert await items.taken_over(ids, "live") == set()
        assert await items.renew("live", 60) == {i.id for i in taken}
        await items.finish(dead[0], "dead")  # a late finish by the old holder: no effect
        assert await items.counts("job_a") == {"claimed": 2}
        for item in taken:
            await items.finish(item, "live")
        assert await items.counts("job_a") == {"done": 2}
    finally:
        await store.close()


async def test_a_clean_stop_gives_the_items_back(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        items = WorkItems(store)
        await items.add("job_a", objects(5))
        mine = await items.claim("job_a", "stopping", limit=3, lease=60)
        assert await items.release("stopping") == 3
        assert await items.counts("job_a") == {"queued": 5}
        again = await items.claim("job_a", "other", limit=5, lease=60)
        assert {i.id for i in mine} <= {i.id for i in again}  # at once, not after the lease
    finally:
        await store.close()


async def test_only_one_finisher_of_a_split_document_is_told_it_was_last(
    store_url: str
) -> None:
    stores = [await open_store(store_url) for _ in range(5)]
    try:
        items = WorkItems(stores[0])
        big = SourceObject(key="big.pdf", url="/in/big.pdf", size=1)
        await items.add("job_a", [big])
        (whole,) = await items.claim("job_a", "w0", limit=1, lease=60)
        first = await items.split(whole, "w0", page_count=95, size=20)
        assert first.pages == range(0, 20)
        ranges: list[tuple[Store, WorkItem, str]] = [(stores[0], first, "w0")]
        for k, store in enumerate(stores[1:], start=1):
            (got,) = await WorkItems(store).claim("job_a", f"w{k}", limit=1, lease=60)
            ranges.append((store, got, f"w{k}"))
        assert sorted((i.first_page, i.last_page) for _, i, _ in ranges) == [
            (0, 19), (20, 39), (40, 59), (60, 79), (80, 94)]
        told = await asyncio.gather(
            *(WorkItems(store).finish(item, holder) for store, item, holder in ranges))
        assert sorted(told) == [False, False, False, False, True]
        # the last one still holds its item while it writes the outputs, then closes it
        assert await items.counts("job_a") == {"done": 4, "claimed": 1}
        last_store, last, holder = ranges[told.index(True)]
        await WorkItems(last_store).close(last, holder)
        assert await items.counts("job_a") == {"done": 5}
    finally:
        for store in stores:
            await store.close()


async def test_open_jobs_are_those_with_work_to_claim(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        items = WorkItems(store)
        await items.add("job_a", objects(1))
        await items.add("job_b", objects(1))
        await items.claim("job_b", "w", limit=1, lease=60)
        assert await items.open_jobs() == ["job_a"]
        await items.forget("job_a")
        assert await items.open_jobs() == [] and await items.counts("job_a") == {}
    finally:
        await store.close()
