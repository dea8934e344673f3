"""The seam through which a fleet-wide share reaches a job's OCR client.

A job's `qps` and `concurrency` are for the whole fleet of processes working on it; the
part this process may use changes as workers come and go. `pipeline.fleet.share` knows
the fleet; the job's client (`LimitedClient`, made in `pipeline.lazy_ocr`) knows how to
apply a share. This module is all they share, so that the OCR side never imports the
fleet side: the process that runs a fleet member sets its keeper with
`use_share_keeper` (a context variable: runs started from that context see it), and
each client made under it is attached for its job and detached when the run ends.
Without a keeper (`ocrpipe run`, tests) a client keeps the job's whole qps and
concurrency.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Protocol


class SharedLimits(Protocol):
    """What can take a share: `LimitedClient.set_share`."""

    def set_share(self, qps: float, concurrency: int) -> None: ...


class ShareKeeper(Protocol):
    """What hands out shares: `pipeline.fleet.share.FleetShares`."""

    def attach(self, job: str, limits: SharedLimits, qps: float, concurrency: int) -> None:
        """Apply this process's share of `job`'s `qps` and `concurrency` to `limits` now
        and again whenever the fleet changes, until `detach`."""
        ...

    def detach(self, job: str, limits: SharedLimits) -> None: ...


def use_share_keeper(keeper: ShareKeeper | None) -> None:
    _current.set(keeper)


def current_share_keeper() -> ShareKeeper | None:
    return _current.get()


_current: ContextVar[ShareKeeper | None] = ContextVar("ocrpipe_share_keeper", default=None)
