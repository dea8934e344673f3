"""Which jobs this worker process holds work of, and their OCR clients.

The worker registry and the fleet-wide division of a job's `qps` and `concurrency`
among the live workers (built beside this) read `snapshot()` (the run keys of the jobs
this process works on now) and reach each job's client through `recognizers(run_key)`
(`LazyOcr.client`: its `LimitedClient`, whose `limiter` is an `AdjustableLimiter`, so its
rate can be set to qps/N). One `HeldJobs` per process: `HELD`.
"""

from __future__ import annotations

from collections import Counter
from threading import Lock

from pipeline.context import Recognizer


class HeldJobs:
    """A multiset of run keys (two runs of a process may help one job) with their
    recognizers; safe to read from another thread."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._count: Counter[str] = Counter()
        self._recognizers: dict[str, list[Recognizer]] = {}

    def add(self, run_key: str, recognizer: Recognizer | None = None) -> None:
        with self._lock:
            self._count[run_key] += 1
            if recognizer is not None:
                self._recognizers.setdefault(run_key, []).append(recognizer)

    def discard(self, run_key: str, recognizer: Recognizer | None = None) -> None:
        with self._lock:
            if self._count[run_key] <= 1:
                self._count.pop(run_key, None)
                self._recognizers.pop(run_key, None)
                return
            self._count[run_key] -= 1
            if recognizer is not None and recognizer in self._recognizers.get(run_key, []):
                self._recognizers[run_key].remove(recognizer)

    def snapshot(self) -> frozenset[str]:
        """The run keys of the jobs this process holds work of now."""
        with self._lock:
            return frozenset(self._count)

    def recognizers(self, run_key: str) -> tuple[Recognizer, ...]:
        with self._lock:
            return tuple(self._recognizers.get(run_key, ()))


HELD = HeldJobs()
"""This process's jobs."""
