"""Group commit: the writes of many pages in flight committed in one transaction.

Every page of a running job writes to the state store two or three times (its attempt
before the call, its result and billed attempt after, its document's end), each a short
transaction of its own. With 32 calls in flight those transactions queue on SQLite's one
writer, and each costs a BEGIN and a COMMIT on top of its statements. `GroupCommit`
keeps the promise of each write and shares the cost:

- `run(op)` queues `op` (an async function of a connection) and returns once the
  transaction that holds it has COMMITTED: a caller that goes on (sends the call it has
  just recorded, say) does so only after its write is durable, exactly as before
  (DESIGN.md invariant 2: an attempt is recorded before it is sent).
- One flusher task at a time takes up to `max_group` queued writes and runs them in one
  transaction, then the next group: writes queued while a group commits ride together in
  the next one. No timer: a lone write is committed at once, so a quiet store adds no
  latency, and a busy one commits in groups as large as the queue.
- A group whose transaction fails is run again one write per transaction, so one bad
  write fails alone and the others still commit.

What a crash (`kill -9`) can lose: only writes whose transaction had not committed, and
none of their callers had gone on. With WAL and `synchronous=NORMAL` a committed group
survives a killed process. So after a crash the pages sent again are those whose calls
were in flight (their attempts are recorded, and read "outcome unknown" on the next run)
plus those answered whose group had not yet committed: at most `max_group` more, and
never more than the job's page slots (2 x concurrency) in all.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")
Write = Callable[[AsyncConnection], Awaitable[Any]]

MAX_GROUP = 64
"""The most writes one transaction holds (a page's write is a few small statements)."""


class GroupCommit:
    """Writes from many tasks, committed together (see the module docstring)."""

    def __init__(self, engine: AsyncEngine, *, max_group: int = MAX_GROUP) -> None:
        self.engine = engine
        self.max_group = max_group
        self._queue: deque[tuple[Write, asyncio.Future[Any]]] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self.groups = 0
        """Transactions committed so far (for tests and benchmarks)."""

    async def run(self, write: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Queue `write` and wait until the transaction holding it has committed; its
        result, or its exception."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((write, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="store group commit")
        # the write goes ahead even if this caller is cancelled; the caller stops waiting
        return await asyncio.shield(future)

    async def drain(self) -> None:
        """Wait until every queued write is committed (before the engine is closed)."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        while self._queue:
            group = [self._queue.popleft() for _ in range(min(self.max_group, len(self._queue)))]
            try:
                results = await self._commit([write for write, _ in group])
            except Exception as exc:
                if len(group) == 1:
                    _settle(group[0][1], error=exc)
                else:  # one by one: a bad write fails alone
                    for write, future in group:
                        await self._commit_alone(write, future)
                continue
            for (_, future), result in zip(group, results, strict=True):
                _settle(future, result=result)

    async def _commit_alone(self, write: Write, future: asyncio.Future[Any]) -> None:
        try:
            (result,) = await self._commit([write])
        except Exception as exc:
            _settle(future, error=exc)
        else:
            _settle(future, result=result)

    async def _commit(self, writes: list[Write]) -> list[Any]:
        async with self.engine.begin() as conn:
            results = [await write(conn) for write in writes]
        self.groups += 1
        return results


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():  # the waiting side was cancelled: nothing to tell
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
