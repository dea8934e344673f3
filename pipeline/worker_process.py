"""What `ocrpipe up` and `ocrpipe worker` both start and stop: one worker process.

In order: the process's temporary folder (leftovers of a killed process go first), the
state store, the embedded OCR service every `endpoint = "embedded"` job shares (started
at the first such job) with its fair turns, the warm render/encode pool, the job
workers, and this process's row in the worker registry with its heartbeat and its
fleet-wide shares (pipeline/fleet/heartbeat.py, share.py). On the way out, the reverse:
deregistered, the pool and the service closed, the store closed. The caller runs the
workers (`start`) and stops them (`stop`) in between, around whatever else it serves.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.context import worker_count
from pipeline.embedded import SharedEmbedded
from pipeline.fair_share import FairDispatcher
from pipeline.fleet.heartbeat import FleetMember
from pipeline.fleet.held import HELD
from pipeline.fleet.registry import WorkerKind, WorkerRegistry
from pipeline.fleet.share import FleetShares
from pipeline.job_worker import JobWorker, WorkerSettings, stop_workers
from pipeline.leftovers import process_temp_folder
from pipeline.shared_pool import SharedPool
from pipeline.store import JobQueue, Store, open_store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessSettings:
    kind: WorkerKind
    workers: int
    """Job workers: jobs this process runs at once."""
    worker: WorkerSettings
    base_dir: Path
    embedded_workers: int | None = None
    """Engine processes of the embedded OCR service (default: cores)."""


@dataclass
class WorkerProcess:
    store: Store
    queue: JobQueue
    owner: str
    """host:pid, the prefix of its job workers' lease owners."""
    workers: list[JobWorker]
    member: FleetMember

    def start(self, tg: asyncio.TaskGroup) -> list[asyncio.Task[None]]:
        return [tg.create_task(w.run(), name=w.name) for w in self.workers]

    async def stop(self, tasks: list[asyncio.Task[None]], grace: float) -> None:
        """No new jobs; calls in flight get `grace` seconds; running jobs go back."""
        await stop_workers(self.workers, tasks, grace)


@asynccontextmanager
async def worker_process(settings: ProcessSettings) -> AsyncIterator[WorkerProcess]:
    """Everything one `up` / `worker` process shares, opened and closed in order."""
    with process_temp_folder():  # the jobs run side by side: one temporary folder
        store = await open_store()
        embedded = SharedEmbedded(settings.embedded_workers)
        embedded.use()  # every job with endpoint = "embedded" shares one service
        FairDispatcher(embedded.fair_capacity).use()  # ... and takes turns there, fairly
        pool = SharedPool(worker_count())
        pool.use()  # one warm worker pool (render, encode) for every job run
        shares = FleetShares()
        shares.use()  # each job's client takes this process's share of its qps
        try:
            owner = f"{socket.gethostname()}:{os.getpid()}"
            queue = JobQueue(store)
            workers = [JobWorker(queue, f"{owner}:w{n}", settings.worker, settings.base_dir)
                       for n in range(1, settings.workers + 1)]

            def held() -> list[str]:
                """The jobs this process works on: the one each worker claimed, and those
                its workers help with (work items of a job another process claimed)."""
                claimed = {w.job.run_key for w in workers if w.job is not None}
                return sorted(claimed | HELD.snapshot())

            member = FleetMember(WorkerRegistry(store), settings.kind, len(workers), held,
                                 shares)
            async with member:
                yield WorkerProcess(store, queue, owner, workers, member)
        finally:
            await asyncio.to_thread(pool.close)
            await embedded.aclose()
            await store.close()
