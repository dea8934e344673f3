"""The worker registry: which `ocrpipe up` / `ocrpipe worker` processes share the state
database, and which jobs each holds work of.

Each process inserts its row at start (`register`), rewrites its heartbeat and the run
keys of the jobs it holds every `HEARTBEAT_S` seconds (`heartbeat`), and deletes the row
on a clean stop (`deregister`). A process killed outright (kill -9, a lost machine)
leaves its row: once its heartbeat is older than the lease (`LEASE_S`) it is `lost`, no
longer counts in a job's fleet-wide share (`live_holders`, pipeline/fleet/share.py),
and after `PRUNE_AFTER_S` the next heartbeat of any process deletes it. Times are UTC
from each process's own clock, as the job leases' are (pipeline/store/jobs.py): keep the
machines' clocks in sync (NTP) to well under the lease.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, insert, select, update

from pipeline.store import Store
from pipeline.store.job_reads import aware
from pipeline.store.schema import workers

WorkerKind = Literal["up", "worker", "run"]
WorkerState = Literal["live", "lost"]

HEARTBEAT_S = 3.0
"""Seconds between a process's heartbeats (each also re-reads the fleet)."""
LEASE_S = 15.0
"""A row whose heartbeat is older is `lost`: its process no longer counts."""
PRUNE_AFTER_S = 3600.0
"""A lost row is deleted once its heartbeat is this old (an hour to see it in
`ocrpipe workers`)."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WorkerRow:
    id: str
    host: str
    pid: int
    kind: str
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime
    jobs: tuple[str, ...]

    @classmethod
    def of(cls, row: Any) -> WorkerRow:
        return cls(id=row.id, host=row.host, pid=row.pid, kind=row.kind,
                   concurrency=row.concurrency, started_at=aware(row.started_at) or _now(),
                   heartbeat_at=aware(row.heartbeat_at) or _now(),
                   jobs=tuple(json.loads(row.jobs or "[]")))

    def age(self, now: datetime) -> float:
        """Seconds since the last heartbeat."""
        return max(0.0, (now - self.heartbeat_at).total_seconds())

    def state(self, now: datetime, lease: float = LEASE_S) -> WorkerState:
        return "live" if self.age(now) <= lease else "lost"

    def view(self, now: datetime, lease: float = LEASE_S) -> dict[str, Any]:
        """As `GET /v1/workers` and `ocrpipe workers --json` show it."""
        return {"id": self.id, "host": self.host, "pid": self.pid, "kind": self.kind,
                "concurrency": self.concurrency, "started_at": self.started_at.isoformat(),
                "heartbeat_at": self.heartbeat_at.isoformat(),
                "heartbeat_age_s": round(self.age(now), 1), "state": self.state(now, lease),
                "jobs": list(self.jobs)}


def new_worker_id(host: str | None = None, pid: int | None = None) -> str:
    """host:pid:random: unique even when a pid is reused on a host."""
    return f"{host or socket.gethostname()}:{pid or os.getpid()}:{secrets.token_hex(3)}"


class WorkerRegistry:
    """The `workers` table: register, heartbeat, deregister, list, prune."""

    def __init__(self, store: Store, *, lease: float = LEASE_S,
                 prune_after: float = PRUNE_AFTER_S) -> None:
        if prune_after < lease:
            raise ValueError("WorkerRegistry needs prune_after >= lease")
        self.store, self.lease, self.prune_after = store, lease, prune_after

    async def register(self, kind: WorkerKind, concurrency: int, *,
                       worker_id: str | None = None, jobs: Iterable[str] = ()) -> str:
        """Insert this process's row; its id."""
        worker_id = worker_id or new_worker_id()
        host, pid = socket.gethostname(), os.getpid()
        now = _now()
        async with self.store.engine.begin() as conn:
            await conn.execute(insert(workers).values(
                id=worker_id, host=host, pid=pid, kind=kind, concurrency=concurrency,
                started_at=now, heartbeat_at=now, jobs=_encode(jobs),
            ))
        return worker_id

    async def heartbeat(self, worker_id: str, jobs: Iterable[str]) -> bool:
        """Renew the row and its jobs, and prune long-lost rows; False when the row was
        gone (pruned after a long stall, or deleted by hand): the caller registers again."""
        now = _now()
        async with self.store.engine.begin() as conn:
            done = await conn.execute(update(workers).where(workers.c.id == worker_id)
                                      .values(heartbeat_at=now, jobs=_encode(jobs)))
            await conn.execute(delete(workers).where(
                workers.c.heartbeat_at < now - timedelta(seconds=self.prune_after)))
        return bool(done.rowcount)

    async def deregister(self, worker_id: str) -> None:
        async with self.store.engine.begin() as conn:
            await conn.execute(delete(workers).where(workers.c.id == worker_id))

    async def list_workers(self) -> list[WorkerRow]:
        """Every row, live and lost, oldest first."""
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(select(workers).order_by(workers.c.started_at,
                                                               workers.c.id))
            return [WorkerRow.of(row) for row in rows]

    async def live_holders(self, *, besides: str | None = None) -> Counter[str]:
        """For each job run key, how many live processes (other than `besides`) hold
        work of it."""
        cutoff = _now() - timedelta(seconds=self.lease)
        query = select(workers.c.id, workers.c.jobs).where(workers.c.heartbeat_at >= cutoff)
        if besides is not None:
            query = query.where(workers.c.id != besides)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        counts: Counter[str] = Counter()
        for row in rows:
            counts.update(set(json.loads(row.jobs or "[]")))
        return counts


def _encode(jobs: Iterable[str]) -> str:
    return json.dumps(sorted(set(jobs)))
