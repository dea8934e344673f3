"""The fair dispatcher's order of turns: round-robin across projects, then jobs, under a
global capacity; cancelled waiters give their place on."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.fair_share import FairDispatcher, current_dispatcher


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def queue_calls(fair: FairDispatcher, calls: list[tuple[str, str]],
                      order: list[str], hold: asyncio.Event | None = None,
                      ) -> list[asyncio.Task[None]]:
    """One task per (project, job), started in list order; each records its job when its
    turn comes, then (with `hold`) keeps its place until `hold` is set."""
    async def call(project: str, job: str) -> None:
        async with fair.turn(project, job):
            order.append(job)
            if hold is not None:
                await hold.wait()
            await asyncio.sleep(0)

    tasks = []
    for project, job in calls:
        tasks.append(asyncio.create_task(call(project, job)))
        await settle()  # each task enters its line before the next one starts
    return tasks


async def test_turns_alternate_projects_then_the_jobs_of_a_project() -> None:
    fair = FairDispatcher(capacity=1)
    order: list[str] = []
    release = asyncio.Event()
    blocker = await queue_calls(fair, [("X", "x")], order, release)
    calls = [("A", "a1")] * 4 + [("A", "a2")] * 4 + [("B", "b1")] * 4
    tasks = await queue_calls(fair, calls, order)
    assert fair.waiting() == {"A": {"a1": 4, "a2": 4}, "B": {"b1": 4}}
    release.set()
    await asyncio.gather(*blocker, *tasks)
    assert order == ["x", "a1", "b1", "a2", "b1", "a1", "b1", "a2", "b1",
                     "a1", "a2", "a1", "a2"]
    assert fair.in_use == 0 and fair.waiting() == {} and fair.granted == 13


async def test_a_job_with_many_calls_waiting_gets_no_more_turns() -> None:
    fair = FairDispatcher(capacity=1)
    order: list[str] = []
    release = asyncio.Event()
    blocker = await queue_calls(fair, [("X", "x")], order, release)
    tasks = await queue_calls(fair, [("A", "big")] * 6 + [("A", "small")] * 2, order)
    release.set()
    await asyncio.gather(*blocker, *tasks)
    assert order[1:5] == ["big", "small", "big", "small"]
    assert order[5:] == ["big"] * 4


async def test_capacity_admits_that_many_at_once_and_no_more() -> None:
    fair = FairDispatcher(capacity=3)
    order: list[str] = []
    release = asyncio.Event()
    tasks = await queue_calls(fair, [("A", "a")] * 2 + [("B", "b")] * 3, order, release)
    assert fair.in_use == 3 and order == ["a", "a", "b"]
    assert fair.waiting() == {"B": {"b": 2}}
    release.set()
    await asyncio.gather(*tasks)
    assert sorted(order) == ["a", "a", "b", "b", "b"] and fair.in_use == 0


async def test_a_cancelled_waiter_leaves_its_line_and_uses_no_turn() -> None:
    fair = FairDispatcher(capacity=1)
    order: list[str] = []
    release = asyncio.Event()
    blocker = await queue_calls(fair, [("X", "x")], order, release)
    tasks = await queue_calls(fair, [("A", "a1"), ("A", "a2"), ("B", "b1")], order)
    tasks[0].cancel()  # a1 gives up while waiting
    await settle()
    assert fair.waiting() == {"A": {"a2": 1}, "B": {"b1": 1}}
    release.set()
    await asyncio.gather(*blocker, *tasks[1:])
    with pytest.raises(asyncio.CancelledError):
        await tasks[0]
    assert order == ["x", "a2", "b1"] and fair.in_use == 0


async def test_a_waiter_cancelled_once_granted_gives_the_place_on() -> None:
    fair = FairDispatcher(capacity=1)
    order: list[str] = []
    release = asyncio.Event()
    blocker = await queue_calls(fair, [("X", "x")], order, release)
    tasks = await queue_calls(fair, [("A", "a"), ("B", "b")], order)
    release.set()
    tasks[0].cancel()  # granted by the release, cancelled before it could run
    await asyncio.gather(*blocker, tasks[1], return_exceptions=True)
    with pytest.raises(asyncio.CancelledError):
        await tasks[0]
    assert "b" in order and fair.in_use == 0 and fair.waiting() == {}


async def test_use_makes_it_the_current_dispatcher_of_the_context() -> None:
    fair = FairDispatcher(capacity=2)

    async def inner() -> FairDispatcher | None:
        return current_dispatcher()

    async def runner() -> FairDispatcher | None:
        fair.use()  # as `up` does; the tasks it starts inherit it
        return await asyncio.create_task(inner())

    assert current_dispatcher() is None
    assert await asyncio.create_task(runner()) is fair
    assert current_dispatcher() is None  # the test's own context is untouched


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        FairDispatcher(0)
