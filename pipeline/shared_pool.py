"""The worker pool of a run (render, fit, encode): its own, or one shared by every run of
a long-running process.

`ocrpipe run` starts a pool for its one run and stops it at the end (`run_pool` enters it
into the run's exit stack). Under `ocrpipe up`, starting worker processes for each job
cost about a second a job (spawn, then the imports of the page worker in each process);
`SharedPool.use()` makes every run started from the current context use one pool
instead, started at the first run that needs it, kept warm between jobs, and stopped by
`close()` when `up` stops.

Sharing is safe because the page worker's functions keep no state between calls (each
call gets the path, the page and the settings it needs), and a pool broken by a worker
that died is renewed once for everyone (`RenewablePool`): the document whose call
broke it is tried again in a worker of its own (`isolation.py`), whichever job it is of.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor
from contextlib import AsyncExitStack
from contextvars import ContextVar

from pipeline.renewable_pool import RenewablePool
from pipeline.workers import process_pool


class SharedPool:
    """One `RenewablePool` for every run of a process, made at the first `pool()`."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.started = 0
        """Pools made so far (0 or 1; a renewal after a crash is not counted)."""
        self._lock = threading.Lock()
        self._pool: RenewablePool | None = None

    def use(self) -> None:
        """Runs started from the current context (and tasks created from it) share it."""
        _current.set(self)

    def pool(self) -> RenewablePool:
        with self._lock:
            if self._pool is None:
                self._pool = RenewablePool(lambda: process_pool(self.workers))
                self.started += 1
            return self._pool

    def close(self) -> None:
        """Stop the worker processes (after the calls in flight); `pool()` starts anew."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def run_pool(stack: AsyncExitStack, workers: int) -> Executor:
    """The pool for one run: the shared one when `SharedPool.use()` was called in this
    context; else a new pool of `workers` processes, stopped when `stack` closes."""
    shared = _current.get()
    if shared is not None:
        return shared.pool()
    return stack.enter_context(RenewablePool(lambda: process_pool(workers)))


_current: ContextVar[SharedPool | None] = ContextVar("ocrpipe_shared_pool", default=None)
