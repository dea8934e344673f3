"""A process's membership of the fleet: registered at start, a heartbeat every few
seconds with the jobs it holds, deregistered on a clean stop.

Each heartbeat (every few seconds, and at once when the jobs held change) writes this
process's row (pipeline/fleet/registry.py), then reads how many other live processes
hold each job and hands that to the process's `FleetShares`, so shares follow the fleet
within one heartbeat. A heartbeat that fails (the database restarting) is logged and
tried again at the next one; the shares stay as they were.
What the process holds comes from `held_jobs`: today's whole-job workers hold the job
each runs; workers sharing one job (issue 17 part A) hold the jobs they have work of.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from types import TracebackType

from pipeline.fleet.registry import HEARTBEAT_S, WorkerKind, WorkerRegistry
from pipeline.fleet.share import FleetShares

log = logging.getLogger(__name__)

LOOK_S = 0.5
"""Seconds between looks at the jobs held, between heartbeats."""

HeldJobs = Callable[[], Iterable[str]]
"""The run keys of the jobs this process holds work of, now."""


class FleetMember:
    """`async with FleetMember(...)`: this process in the `workers` table meanwhile."""

    def __init__(self, registry: WorkerRegistry, kind: WorkerKind, concurrency: int,
                 held_jobs: HeldJobs, shares: FleetShares | None = None, *,
                 every: float = HEARTBEAT_S) -> None:
        self.registry, self.kind, self.concurrency = registry, kind, concurrency
        self.held_jobs = held_jobs
        self.shares = shares if shares is not None else FleetShares()
        self.every = every
        self.id: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._written: set[str] = set()

    async def __aenter__(self) -> FleetMember:
        self._written = set(self.held_jobs())
        self.id = await self.registry.register(self.kind, self.concurrency,
                                               jobs=self._written)
        log.info("registered as worker %s (%s)", self.id, self.kind)
        self.shares.update(await self.registry.live_holders(besides=self.id))
        self._task = asyncio.create_task(self._beat_forever(), name=f"heartbeat {self.id}")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.id is not None:
            try:
                await asyncio.shield(self.registry.deregister(self.id))
            except Exception as error:  # its row turns `lost`, then is pruned
                log.warning("worker %s: could not deregister (%s); its row shows as lost "
                            "after %g s", self.id, error, self.registry.lease)

    async def beat(self) -> None:
        """One heartbeat: write this row, read the fleet, resize the shares."""
        assert self.id is not None, "beat() inside `async with` only"
        held = list(self.held_jobs())
        if not await self.registry.heartbeat(self.id, held):
            log.warning("worker %s: its row was gone (a stall longer than the prune time?); "
                        "registering again", self.id)
            await self.registry.register(self.kind, self.concurrency, worker_id=self.id,
                                         jobs=held)
        self.shares.update(await self.registry.live_holders(besides=self.id))

    async def _beat_forever(self) -> None:
        """A heartbeat every `every` seconds, and sooner (within `LOOK_S`) when the jobs
        held change, so that the fleet counts a claimed job at once."""
        written, due = self._written, time.monotonic() + self.every
        while True:
            await asyncio.sleep(min(LOOK_S, self.every))
            held = set(self.held_jobs())
            if held == written and time.monotonic() < due:
                continue
            try:
                await self.beat()
                written = held
            except Exception as error:
                log.warning("worker %s: heartbeat failed (%s: %s); trying again in %g s",
                            self.id, error.__class__.__name__, error, self.every)
            due = time.monotonic() + self.every
