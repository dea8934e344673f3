"""`AdjustableBound` (pipeline/ocr/bound.py): a bound on calls in flight whose limit
changes while tasks wait, as a job's fleet-wide share of its concurrency does."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.ocr.bound import AdjustableBound


async def hold(bound: AdjustableBound, entered: list[int], n: int, go: asyncio.Event) -> None:
    async with bound:
        entered.append(n)
        await go.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_raising_the_limit_lets_waiters_in_in_arrival_order() -> None:
    bound, go = AdjustableBound(2), asyncio.Event()
    entered: list[int] = []
    tasks = [asyncio.create_task(hold(bound, entered, n, go)) for n in range(5)]
    await settle()
    assert entered == [0, 1] and bound.held == 2
    bound.set_limit(4)
    await settle()
    assert entered == [0, 1, 2, 3] and bound.held == 4
    go.set()
    await asyncio.gather(*tasks)
    assert entered == [0, 1, 2, 3, 4] and bound.held == 0


async def test_lowering_the_limit_takes_nothing_back_but_admits_no_one_until_below() -> None:
    bound = AdjustableBound(3)
    entered: list[int] = []
    gates = [asyncio.Event() for _ in range(4)]
    tasks = [asyncio.create_task(hold(bound, entered, n, gates[n])) for n in range(4)]
    await settle()
    assert entered == [0, 1, 2]
    bound.set_limit(1)
    gates[0].set()
    await settle()
    assert bound.held == 2 and entered == [0, 1, 2]  # 2 in flight, limit 1: 3 waits
    gates[1].set()
    gates[2].set()
    await settle()
    assert entered == [0, 1, 2, 3] and bound.held == 1
    gates[3].set()
    await asyncio.gather(*tasks)


async def test_a_cancelled_waiter_leaves_no_slot_taken() -> None:
    bound, go = AdjustableBound(1), asyncio.Event()
    entered: list[int] = []
    first = asyncio.create_task(hold(bound, entered, 0, go))
    waiting = asyncio.create_task(hold(bound, entered, 1, go))
    await settle()
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    go.set()
    await first
    assert bound.held == 0 and entered == [0]
    async with bound:  # the slot is free again
        assert bound.held == 1


async def test_a_waiter_cancelled_right_after_its_grant_gives_the_slot_on() -> None:
    bound, go = AdjustableBound(1), asyncio.Event()
    entered: list[int] = []
    await bound.acquire()
    tasks = [asyncio.create_task(hold(bound, entered, n, go)) for n in (1, 2)]
    await settle()
    bound.release()  # grants the slot to task 1 ...
    tasks[0].cancel()  # ... which is cancelled before it runs again
    await asyncio.gather(tasks[0], return_exceptions=True)
    await settle()
    assert entered == [2] and bound.held == 1  # the slot went on to task 2
    go.set()
    await tasks[1]
    assert bound.held == 0


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        AdjustableBound(0)
    with pytest.raises(ValueError):
        AdjustableBound(1).set_limit(0)
