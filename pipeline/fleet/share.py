"""A job's `qps` and `concurrency` are for the whole fleet: each process's share.

With N live processes holding work of a job, each gets `qps / N` calls per second and
`ceil(concurrency / N)` calls in flight (rounded up so that no process is left below
one; the fleet may then have up to N - 1 calls more in flight than configured, never a
higher rate). N is re-counted at every heartbeat (pipeline/fleet/heartbeat.py): when a
process joins, every share shrinks within one heartbeat; when one leaves cleanly, or
its heartbeat is older than the lease after kill -9, the others' shares grow back.
Within its share each process keeps its own AIMD on throttling answers
(`LimitedClient.set_share`): a share that changes keeps the throttled fraction.

`FleetShares` is the process's keeper (pipeline/ocr/shares.py): a job's client attaches
to it when the run makes it and detaches when the run ends.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.ocr.shares import SharedLimits, use_share_keeper

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Share:
    qps: float
    concurrency: int
    workers: int
    """N: the live processes the job's limits are divided among, this one included."""


def divide(qps: float, concurrency: int, workers: int) -> Share:
    """One process's share of a job's fleet-wide `qps` and `concurrency` among `workers`
    processes (at least 1: this one)."""
    n = max(1, workers)
    return Share(qps=qps / n, concurrency=max(1, math.ceil(concurrency / n)), workers=n)


@dataclass
class _Attached:
    limits: SharedLimits
    qps: float
    concurrency: int
    applied: Share | None = None


class FleetShares:
    """For each job this process holds, how many OTHER live processes hold it (from the
    last heartbeat), and the clients to resize when that changes."""

    def __init__(self) -> None:
        self._others: dict[str, int] = {}
        self._attached: dict[str, list[_Attached]] = {}

    def use(self) -> None:
        """Clients of runs started from the current context take their shares here."""
        use_share_keeper(self)

    def share_of(self, job: str, qps: float, concurrency: int) -> Share:
        return divide(qps, concurrency, 1 + self._others.get(job, 0))

    def attach(self, job: str, limits: SharedLimits, qps: float, concurrency: int) -> None:
        entry = _Attached(limits, qps, concurrency)
        self._attached.setdefault(job, []).append(entry)
        self._apply(job, entry)

    def detach(self, job: str, limits: SharedLimits) -> None:
        entries = [e for e in self._attached.get(job, []) if e.limits is not limits]
        if entries:
            self._attached[job] = entries
        else:
            self._attached.pop(job, None)

    def update(self, others: Mapping[str, int]) -> None:
        """The fleet as the last heartbeat read it: job run key -> live processes other
        than this one holding work of it. Every attached client whose share changed is
        resized."""
        self._others = {job: count for job, count in others.items() if count > 0}
        for job, entries in self._attached.items():
            for entry in entries:
                self._apply(job, entry)

    def _apply(self, job: str, entry: _Attached) -> None:
        share = self.share_of(job, entry.qps, entry.concurrency)
        if share == entry.applied:
            return
        entry.limits.set_share(share.qps, share.concurrency)
        if entry.applied is not None or share.workers > 1:
            log.info("job=%s: %d processes share it: this one's part is %.3g calls/s, %d in "
                     "flight (of %.3g, %d)", job, share.workers, share.qps, share.concurrency,
                     entry.qps, entry.concurrency)
        entry.applied = share
