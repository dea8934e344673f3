"""A process pool that can be replaced when one of its workers dies.

`ProcessPoolExecutor` breaks for good when a worker process dies (a crash in a
rasterizer, the kernel's OOM killer): every pending and later call raises
`BrokenProcessPool`. `RenewablePool` keeps handing work to the current pool and, when a
caller reports that the pool it used broke, swaps in a fresh one, once per breakage
however many callers report it (the `generation` they saw tells which pool they used).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class RenewablePool(Executor):
    """An executor over `make()`'s pools; `renew(generation)` replaces a broken one."""

    def __init__(self, make: Callable[[], Executor]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._pool = make()
        self._retired: list[Executor] = []
        self.generation = 0

    def submit(
        self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Future[T]:
        with self._lock:
            pool = self._pool
        return pool.submit(fn, *args, **kwargs)

    def renew(self, generation: int) -> None:
        """Replace the pool of `generation` with a fresh one (no-op when already done)."""
        with self._lock:
            if generation != self.generation:
                return
            self._retired.append(self._pool)
            self._pool = self._make()
            self.generation += 1
        log.warning("a worker process died: started a fresh worker pool")

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            pools = [*self._retired, self._pool]
            self._retired = []
        for pool in pools:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def __enter__(self) -> RenewablePool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown(wait=True)
