"""One active run per job on a state database: a lease with a heartbeat.

A run takes the job's row in `job_leases` before it starts (before any attempt left
'pending' by an earlier run is turned into 'unknown'), renews `heartbeat` every
`HEARTBEAT_S` seconds while it runs, and deletes the row when it ends. Another run of
the same job finds the row and stops with `JobBusy` (exit 2), naming the process that
holds it, or with `wait=True` polls until the row is free.

A run that crashed (kill -9, power loss) holds nothing for long: its lease is free at
once when the holder ran on this host and its process is gone, else once its heartbeat
is older than `LEASE_S` (another host) or `SAME_HOST_LEASE_S` (a process of this host
that still exists: a stalled run, or its pid taken by another program). Every take is a
compare-and-set on the holder id, so two runs that find one stale lease cannot both
take it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from pipeline.errors import ConfigError, JobInterrupted
from pipeline.store import Store
from pipeline.store.schema import job_leases
from pipeline.workers import process_gone

log = logging.getLogger(__name__)

LEASE_S = 30.0
SAME_HOST_LEASE_S = 300.0
HEARTBEAT_S = 5.0
POLL_S = 1.0


class JobBusy(ConfigError):
    """Another run of this job holds its lease."""


@dataclass(frozen=True)
class Holder:
    holder: str
    pid: int
    host: str
    since: float
    heartbeat: float

    def describe(self, now: float) -> str:
        since = datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return (
            f"process {self.pid} on {self.host}, running since {since} "
            f"(last heartbeat {max(0.0, now - self.heartbeat):.0f} s ago)"
        )


class JobLease:
    """The lease of one job, held by this run from `take` to `release`."""

    def __init__(self, store: Store, job: str) -> None:
        self.store = store
        self.job = job
        self.me = Holder(
            holder=secrets.token_hex(8), pid=os.getpid(), host=socket.gethostname(),
            since=time.time(), heartbeat=time.time(),
        )
        self._beat: asyncio.Task[None] | None = None
        self.lost = False

    @classmethod
    async def take(
        cls, store: Store, job: str, *, wait: bool = False,
        on_wait: Callable[[str], None] | None = None, stopping: asyncio.Event | None = None,
    ) -> JobLease:
        """The job's lease; `JobBusy` when another live run holds it (unless `wait`;
        `stopping` set while waiting: `JobInterrupted`)."""
        stopping = stopping or asyncio.Event()
        lease = cls(store, job)
        told = False
        while (other := await lease._try_take()) is not None:
            busy = f"job {job!r} is already running: {other.describe(time.time())}"
            if not wait:
                raise JobBusy(
                    f"{busy}. Only one run of a job at a time: wait for it to end, stop it, "
                    "or run again with --wait"
                )
            if not told:
                if on_wait is not None:
                    on_wait(f"{busy}; waiting for it to end")
                else:
                    log.warning("%s; waiting for it to end", busy)
                told = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), POLL_S)
            if stopping.is_set():
                raise JobInterrupted(f"stopped while waiting for the other run of {job!r}")
        lease._beat = asyncio.create_task(lease._heartbeat(), name=f"lease {job}")
        return lease

    def _stale(self, row: Any, now: float) -> bool:
        """Free to take: its process is gone (this host), or its heartbeat stopped:
        `LEASE_S` ago for another host, `SAME_HOST_LEASE_S` ago for a process of this
        host that still exists (a stalled run, or its pid reused by another program)."""
        age = now - float(row.heartbeat)
        if row.host != self.me.host:
            return age > LEASE_S
        if row.pid != self.me.pid and process_gone(row.pid):
            return True
        return age > SAME_HOST_LEASE_S

    async def _try_take(self) -> Holder | None:
        """None when this run now holds the lease, else the holder in the way."""
        now = time.time()
        mine = dict(holder=self.me.holder, pid=self.me.pid, host=self.me.host, since=now,
                    heartbeat=now)
        try:
            async with self.store.engine.begin() as conn:
                row = (await conn.execute(
                    select(job_leases).where(job_leases.c.job == self.job)
                )).first()
                if row is None:
                    await conn.execute(insert(job_leases).values(job=self.job, **mine))
                    return None
                if not self._stale(row, now):
                    return Holder(row.holder, row.pid, row.host, row.since, row.heartbeat)
                taken = await conn.execute(
                    update(job_leases)
                    .where(and_(job_leases.c.job == self.job,
                                job_leases.c.holder == row.holder))
                    .values(**mine)
                )
                if taken.rowcount == 1:
                    log.warning(
                        "job %s: took over the lease of a run that is gone (%s)",
                        self.job, Holder(row.holder, row.pid, row.host, row.since,
                                         row.heartbeat).describe(now),
                    )
                    return None
        except IntegrityError:
            pass  # another run inserted it first
        current = await self._current()
        return current if current is not None else await self._try_take()  # it left: again

    async def _current(self) -> Holder | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(
                select(job_leases).where(job_leases.c.job == self.job)
            )).first()
        if row is None or row.holder == self.me.holder:
            return None
        return Holder(row.holder, row.pid, row.host, row.since, row.heartbeat)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                async with self.store.engine.begin() as conn:
                    renewed = await conn.execute(
                        update(job_leases)
                        .where(and_(job_leases.c.job == self.job,
                                    job_leases.c.holder == self.me.holder))
                        .values(heartbeat=time.time())
                    )
            except Exception as exc:  # a missed beat is retried next time
                log.warning("job %s: could not renew the run's lease: %s", self.job, exc)
                continue
            if renewed.rowcount != 1 and not self.lost:
                self.lost = True
                log.error("job %s: another run took over this run's lease", self.job)

    async def release(self) -> None:
        """Give the lease back (never raises: a lease not given back expires)."""
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        try:
            async with self.store.engine.begin() as conn:
                await conn.execute(
                    delete(job_leases).where(and_(job_leases.c.job == self.job,
                                                  job_leases.c.holder == self.me.holder))
                )
        except Exception as exc:  # the state database failed: the lease runs out instead
            log.warning("job %s: could not give the run's lease back: %s", self.job, exc)
