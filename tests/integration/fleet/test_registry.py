"""The worker registry on a real state database (SQLite and PostgreSQL): processes
register, heartbeat with the jobs they hold, deregister; one that stops heartbeating is
`lost` after the lease, stops counting in a job's share, and is pruned later. Each
member has its own store (its own connections), as separate processes would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from pipeline.fleet.heartbeat import FleetMember
from pipeline.fleet.registry import WorkerRegistry
from pipeline.fleet.share import FleetShares
from pipeline.store import Store, open_store

LEASE = 2.0


@pytest.fixture
async def stores(store_url: str) -> AsyncIterator[list[Store]]:
    opened = [await open_store(store_url) for _ in range(3)]
    try:
        yield opened
    finally:
        for store in opened:
            await store.close()


async def test_register_heartbeat_list_and_deregister(stores: list[Store]) -> None:
    registry = WorkerRegistry(stores[0])
    first = await registry.register("up", 2)
    second = await WorkerRegistry(stores[1]).register("worker", 4, jobs=["p/a"])
    rows = {row.id: row for row in await registry.list_workers()}
    assert set(rows) == {first, second}
    assert rows[first].kind == "up" and rows[first].concurrency == 2 and rows[first].jobs == ()
    assert rows[second].jobs == ("p/a",) and rows[second].kind == "worker"
    assert await registry.heartbeat(first, ["p/b", "p/a", "p/b"])
    now = datetime.now(UTC)
    row = {row.id: row for row in await registry.list_workers()}[first]
    assert row.jobs == ("p/a", "p/b") and row.state(now) == "live" and row.age(now) < 5
    view = row.view(now)
    assert view["state"] == "live" and view["jobs"] == ["p/a", "p/b"] and view["pid"] > 0
    assert await registry.live_holders() == {"p/a": 2, "p/b": 1}
    assert await registry.live_holders(besides=first) == {"p/a": 1}
    await registry.deregister(first)
    assert [row.id for row in await registry.list_workers()] == [second]
    assert not await registry.heartbeat(first, [])  # gone: the caller registers again


async def test_a_silent_worker_is_lost_after_the_lease_then_pruned(stores: list[Store]) -> None:
    registry = WorkerRegistry(stores[0], lease=LEASE, prune_after=2 * LEASE)
    silent = await WorkerRegistry(stores[1], lease=LEASE).register("worker", 1, jobs=["p/a"])
    alive = await registry.register("worker", 1, jobs=["p/a"])
    assert await registry.live_holders() == {"p/a": 2}
    await asyncio.sleep(LEASE + 0.2)
    assert await registry.heartbeat(alive, ["p/a"])
    now = datetime.now(UTC)
    states = {row.id: row.state(now, LEASE) for row in await registry.list_workers()}
    assert states == {silent: "lost", alive: "live"}
    assert await registry.live_holders() == {"p/a": 1}  # the lost one no longer counts
    await asyncio.sleep(LEASE + 0.2)  # now older than prune_after
    assert await registry.heartbeat(alive, ["p/a"])  # which prunes it
    assert [row.id for row in await registry.list_workers()] == [alive]


async def test_three_members_share_a_job_and_shares_follow_who_leaves_or_dies(
    stores: list[Store],
) -> None:
    """Three processes hold one job; one stops cleanly, one is killed (no deregister):
    the last one's share grows at once for the first, after the lease for the second."""
    held = {"p/job"}
    members = [FleetMember(WorkerRegistry(store, lease=LEASE), "worker", 2, lambda: held,
                           FleetShares(), every=3600) for store in stores]
    for member in members:
        await member.__aenter__()
    try:
        for member in members:
            await member.beat()
        assert [m.shares.share_of("p/job", 30.0, 8).workers for m in members] == [3, 3, 3]
        assert members[0].shares.share_of("p/job", 30.0, 8).qps == pytest.approx(10.0)
        await members[1].__aexit__(None, None, None)  # a clean stop: its row goes
        await members[0].beat()
        assert members[0].shares.share_of("p/job", 30.0, 8).workers == 2
        # members[2] "killed": its heartbeat stops, its row stays until the lease runs out
        await members[0].beat()
        assert members[0].shares.share_of("p/job", 30.0, 8).workers == 2
        await asyncio.sleep(LEASE + 0.2)
        await members[0].beat()
        share = members[0].shares.share_of("p/job", 30.0, 8)
        assert (share.workers, share.qps, share.concurrency) == (1, 30.0, 8)
    finally:
        await members[0].__aexit__(None, None, None)
        await members[2].__aexit__(None, None, None)


async def test_a_change_in_the_jobs_held_is_written_before_the_next_heartbeat_is_due(
    stores: list[Store],
) -> None:
    held: set[str] = set()
    registry = WorkerRegistry(stores[0])
    async with FleetMember(registry, "up", 2, lambda: held, every=3600) as member:
        held.add("p/claimed")  # a job worker claims a job
        for _ in range(40):
            await asyncio.sleep(0.1)
            rows = await registry.list_workers()
            if rows[0].jobs == ("p/claimed",):
                break
        assert [(row.id, row.jobs) for row in rows] == [(member.id, ("p/claimed",))]
    assert await registry.list_workers() == []  # deregistered on the way out
