"""`ocrpipe worker`: `ocrpipe up` without the API, to add job-running capacity.

Any number of `ocrpipe worker` and `ocrpipe up` processes, on any machines, share one
state database (PostgreSQL for several machines) and the jobs submitted to any `up`:
each takes whole jobs from the queue (claims take turns, `JobQueue.claim`) with a lease
it renews while the job runs, as `up`'s own workers do. Stop (SIGINT/SIGTERM): no new
job, the calls in flight finish (up to `grace` seconds), running jobs go back to the
queue. `kill -9`: its jobs are taken again once their leases run out, and resume.

On PostgreSQL a job is shared (pipeline/fleet/): the worker that claims it lists its
source once into work items, and workers with no job of their own join it, each
claiming documents or page ranges with leases (`FOR UPDATE SKIP LOCKED`, woken by
LISTEN/NOTIFY). On SQLite one process runs a job. Fleet-wide QPS: not yet (issue 17).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.context import worker_count
from pipeline.embedded import SharedEmbedded
from pipeline.fair_share import FairDispatcher
from pipeline.job_worker import JobWorker, WorkerSettings, stop_workers
from pipeline.leftovers import process_temp_folder
from pipeline.shared_pool import SharedPool
from pipeline.store import JobQueue, open_store
from pipeline.up import install_signal_handlers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueWorkerConfig:
    concurrency: int = 2
    """Jobs this process runs at once."""
    grace: float = 30.0
    embedded_workers: int | None = None
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    base_dir: Path = field(default_factory=Path.cwd)


async def serve_queue(config: QueueWorkerConfig, stopping: asyncio.Event) -> None:
    """Run queued jobs until `stopping` is set, then stop in order."""
    with process_temp_folder():
        store = await open_store()
        embedded = SharedEmbedded(config.embedded_workers)
        embedded.use()
        FairDispatcher(embedded.fair_capacity).use()
        pool = SharedPool(worker_count())
        pool.use()
        try:
            owner = f"{socket.gethostname()}:{os.getpid()}"
            queue = JobQueue(store)
            workers = [JobWorker(queue, f"{owner}:w{n}", config.worker, config.base_dir)
                       for n in range(1, config.concurrency + 1)]
            log.info("ocrpipe worker %s: running queued jobs, %d at a time", owner,
                     len(workers))
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(w.run(), name=w.name) for w in workers]
                await stopping.wait()
                await stop_workers(workers, tasks, config.grace)
        finally:
            await asyncio.to_thread(pool.close)
            await embedded.aclose()
            await store.close()
    log.info("ocrpipe worker: stopped")


async def main(config: QueueWorkerConfig) -> None:
    """`serve_queue` with the signal handlers of a foreground process."""
    stopping = asyncio.Event()
    task = asyncio.current_task()
    assert task is not None
    install_signal_handlers(stopping, task)
    await serve_queue(config, stopping)
