"""A bound on calls in flight whose limit can change while tasks wait for it.

`asyncio.Semaphore` fixes its count at creation; a job's share of a fleet-wide
concurrency (pipeline/fleet/share.py) changes as workers come and go. Lowering the limit
takes nothing back from calls already in flight: no new call starts until fewer than
the new limit are out. Waiters are served in arrival order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class AdjustableBound:
    """`async with bound:` holds one of `limit` slots; `set_limit(n)` changes the limit."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("AdjustableBound needs limit >= 1")
        self._limit = limit
        self._held = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def held(self) -> int:
        """Slots held now (may exceed `limit` for a while after it was lowered)."""
        return self._held

    def set_limit(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("AdjustableBound needs limit >= 1")
        self._limit = limit
        self._wake()

    async def acquire(self) -> None:
        if self._held < self._limit and not self._waiters:
            self._held += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # granted, then cancelled
                self.release()
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def release(self) -> None:
        self._held -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._held < self._limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._held += 1  # the slot passes to the waiter before it runs again
                waiter.set_result(None)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
