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
- Writes that many pages make alike (an attempt row, a page's result, a document's
  end) are `Batch` kinds: all of a kind in a group run as one `executemany` (one
  statement through the driver's thread, not one per page). Other writes run one after
  another in the same transaction.
- A group whose transaction fails is run again one write per transaction, so one bad
  write fails alone and the others still commit.

What a crash (`kill -9`) can lose: only writes whose transaction had not committed, and
none of their callers had gone on. With WAL and `synchronous=NORMAL` a committed group
survives a killed process. So after a crash the pages sent again are those whose
results were not committed: calls in flight, and answers waiting in the committing
group or queued behind it. Their attempts were committed before they were sent, so the
next run reads them as "outcome unknown (may be billed)". Each such page holds one of
the job's page slots until its result is committed, so a crash re-sends at most
2 x concurrency pages (measured: 7 or 8 of 120 at 8 in flight,
tests/e2e/test_group_commit_crash.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")
Item = TypeVar("Item")
Write = Callable[[AsyncConnection], Awaitable[Any]]

MAX_GROUP = 64
"""The most writes one transaction holds (a page's write is a few small statements)."""


@dataclass(frozen=True, eq=False)
class Batch(Generic[Item, T]):
    """A kind of write that many callers make alike: `run_many(conn, items)` writes every
    item of a group at once and returns one result per item, in order."""

    name: str
    run_many: Callable[[AsyncConnection, list[Item]], Awaitable[list[T]]]


@dataclass
class _Queued:
    kind: Batch[Any, Any] | None  # None: `payload` is a Write of its own
    payload: Any
    future: asyncio.Future[Any]


class GroupCommit:
    """Writes from many tasks, committed together (see the module docstring)."""

    def __init__(self, engine: AsyncEngine, *, max_group: int = MAX_GROUP) -> None:
        self.engine = engine
        self.max_group = max_group
        self._queue: deque[_Queued] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self.groups = 0
        """Transactions committed so far (for tests and benchmarks)."""

    async def run(self, write: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Queue `write` and wait until the transaction holding it has committed; its
        result, or its exception."""
        return cast(T, await self._enqueue(None, write))

    async def run_batched(self, kind: Batch[Item, T], item: Item) -> T:
        """Queue `item` of `kind` (written with the others of its kind in the group) and
        wait until its transaction has committed; its result, or the group's exception."""
        return cast(T, await self._enqueue(kind, item))

    async def _enqueue(self, kind: Batch[Any, Any] | None, payload: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(kind, payload, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="store group commit")
        # the write goes ahead even if this caller is cancelled; the caller stops waiting
        return await asyncio.shield(future)

    async def drain(self) -> None:
        """Wait until every queued write is committed (before the engine is closed)."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.wait({self._flusher})

    async def _flush(self) -> None:
        group: list[_Queued] = []
        try:
            while self._queue:
                size = min(self.max_group, len(self._queue))
                group = [self._queue.popleft() for _ in range(size)]
                try:
                    results = await self._commit(group)
                except Exception as exc:
                    if len(group) == 1:
                        _settle(group[0].future, error=exc)
                    else:  # one by one: a bad write fails alone
                        for queued in group:
                            await self._commit_alone(queued)
                    continue
                for queued, result in zip(group, results, strict=True):
                    _settle(queued.future, result=result)
        except BaseException as exc:  # cancelled (the loop is closing): no waiter hangs
            for queued in [*group, *self._queue]:
                _settle(queued.future, error=exc)
            self._queue.clear()
            raise

    async def _commit_alone(self, queued: _Queued) -> None:
        try:
            (result,) = await self._commit([queued])
        except Exception as exc:
            _settle(queued.future, error=exc)
        else:
            _settle(queued.future, result=result)

    async def _commit(self, group: list[_Queued]) -> list[Any]:
        """Run `group` in one transaction; one result per write, in order."""
        results: dict[int, Any] = {}
        kinds: dict[Batch[Any, Any], list[int]] = {}
        async with self.engine.begin() as conn:
            for position, queued in enumerate(group):
                if queued.kind is None:
                    results[position] = await queued.payload(conn)
                else:
                    kinds.setdefault(queued.kind, []).append(position)
            for kind, positions in kinds.items():
                done = await kind.run_many(conn, [group[p].payload for p in positions])
                results.update(zip(positions, done, strict=True))
        self.groups += 1
        return [results[p] for p in range(len(group))]


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():  # the waiting side was cancelled: nothing to tell
        return
    if isinstance(error, asyncio.CancelledError):
        future.cancel()
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
