"""`ocrpipe worker`: `ocrpipe up` without the API, to add job-running capacity.

Any number of `ocrpipe worker` and `ocrpipe up` processes, on any machines, share one
state database (PostgreSQL for several machines) and the jobs submitted to any `up`:
each takes whole jobs from the queue (claims take turns, `JobQueue.claim`) with a lease
it renews while the job runs, as `up`'s own workers do. Stop (SIGINT/SIGTERM): no new
job, the calls in flight finish (up to `grace` seconds), running jobs go back to the
queue. `kill -9`: its jobs are taken again once their leases run out, and resume.

Each process is in the worker registry while it runs (`ocrpipe workers`, GET
/v1/workers). On PostgreSQL a job is shared (pipeline/fleet/): the worker that claims it
lists its source once into work items, and workers with no job of their own join it, each
claiming documents or page ranges with leases (`FOR UPDATE SKIP LOCKED`, woken by
LISTEN/NOTIFY); the job's qps and concurrency are divided among the processes holding its
work (pipeline/fleet/share.py). On SQLite one process runs a job.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.job_worker import WorkerSettings
from pipeline.up import install_signal_handlers
from pipeline.worker_process import ProcessSettings, worker_process

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
    settings = ProcessSettings(kind="worker", workers=config.concurrency, worker=config.worker,
                               base_dir=config.base_dir,
                               embedded_workers=config.embedded_workers)
    async with worker_process(settings) as process:
        log.info("ocrpipe worker %s: running queued jobs, %d at a time", process.owner,
                 len(process.workers))
        async with asyncio.TaskGroup() as tg:
            tasks = process.start(tg)
            await stopping.wait()
            await process.stop(tasks, config.grace)
    log.info("ocrpipe worker: stopped")


async def main(config: QueueWorkerConfig) -> None:
    """`serve_queue` with the signal handlers of a foreground process."""
    stopping = asyncio.Event()
    task = asyncio.current_task()
    assert task is not None
    install_signal_handlers(stopping, task)
    await serve_queue(config, stopping)
