"""`ocrpipe up`: the job API and N job workers in one long-running process.

Start: open the state store, serve the API, start the workers (`pipeline.job_worker`);
the embedded OCR service starts once, at the first job with `endpoint = "embedded"`, and
every such job shares it, taking turns with the others (`pipeline.fair_share`: pages of
running jobs interleave round-robin across enterprise projects, then jobs). The worker
processes that render and encode pages are one pool for all jobs, started at the first
and kept warm (`pipeline.shared_pool`).
Stop (SIGINT/SIGTERM), in order: the workers take no new job and their runs stop taking
pages; the calls in flight finish (up to `grace` seconds, then the runs are cancelled);
running jobs go back to `queued`; the API closes; the store closes. A second signal skips
the grace. `kill -9` skips all of it: the next `up` takes the jobs again once their
leases run out, and their runs resume.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from pipeline.api import create_app
from pipeline.api.submit import WebhookRules
from pipeline.context import worker_count
from pipeline.dashboard import add_dashboard_routes
from pipeline.embedded import SharedEmbedded
from pipeline.fair_share import FairDispatcher
from pipeline.job_worker import JobWorker, WorkerSettings, stop_workers
from pipeline.leftovers import process_temp_folder
from pipeline.schedules.loader import WebhookLimits
from pipeline.schedules.service import run_schedules
from pipeline.shared_pool import SharedPool
from pipeline.store import JobQueue, TokenStore, open_store
from pipeline.webhook_signature import SECRET_ENV
from pipeline.webhooks import WebhookPolicy, WebhookSender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpConfig:
    host: str = "127.0.0.1"
    port: int = 8700
    workers: int = 2
    grace: float = 30.0
    data_root: Path | None = None
    """Local folders of submitted jobs must lie inside it (None: anywhere `up` can reach).
    The CLI gives the folder `up` starts in unless told otherwise, and the same `base_dir`."""
    allow_private_webhooks: bool = False
    embedded_workers: int | None = None
    """Engine processes of the embedded OCR service shared by the jobs (default: cores)."""
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    webhooks: WebhookPolicy = field(default_factory=WebhookPolicy)
    base_dir: Path = field(default_factory=Path.cwd)
    jobs_dir: Path | None = None
    """`--jobs DIR`: job files with a `schedule` key (pipeline.schedules.loader)."""
    tick: float = 15.0
    """Seconds between the scheduler's looks at the schedules (`--tick`)."""


async def serve_up(config: UpConfig, stopping: asyncio.Event,
                   on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until `stopping` is set, then stop in order (see the module docstring)."""
    # the jobs run side by side in this process: one temporary folder for all of them
    with process_temp_folder():
        await _serve(config, stopping, on_ready)


async def _serve(config: UpConfig, stopping: asyncio.Event,
                 on_ready: Callable[[str], None] | None) -> None:
    store = await open_store()
    embedded = SharedEmbedded(config.embedded_workers)
    embedded.use()  # every job with endpoint = "embedded" shares one service
    FairDispatcher(embedded.fair_capacity).use()  # ... and takes turns there, fairly
    pool = SharedPool(worker_count())
    pool.use()  # one warm worker pool (render, encode) for every job run
    secret = os.environ.get(SECRET_ENV)
    rules = WebhookRules(can_sign=bool(secret), allow_private=config.allow_private_webhooks)
    app = create_app(store, base_dir=config.base_dir, data_root=config.data_root,
                     webhooks=rules)
    add_dashboard_routes(app, store)  # GET /: the dashboard; /v1/usage, /v1/billing
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    try:
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        url = f"http://{host}:{port}"
        owner = f"{socket.gethostname()}:{os.getpid()}"
        queue = JobQueue(store)
        workers = [JobWorker(queue, f"{owner}:w{n}", config.worker, config.base_dir)
                   for n in range(1, config.workers + 1)]
        log.info("ocrpipe up: job API at %s, %d workers", url, len(workers))
        log.info("local folders of jobs: %s", f"inside {config.data_root} (relative paths "
                 "start there)" if config.data_root is not None else
                 f"anywhere (relative paths start in {config.base_dir})")
        if not await TokenStore(store).list_tokens():
            log.warning("no API tokens yet: create one with `ocrpipe token create --project EP` "
                        "(same --state), then export OCRPIPE_TOKEN=...")
        if on_ready is not None:
            on_ready(url)
        async with asyncio.TaskGroup() as tg:
            if secret:
                sender = WebhookSender(store, secret, allow_private=config.allow_private_webhooks,
                                       policy=config.webhooks)
                tg.create_task(sender.run(stopping), name="webhooks")
            tasks = [tg.create_task(w.run(), name=w.name) for w in workers]
            limits = WebhookLimits(rules.can_sign, rules.allow_private)
            tg.create_task(run_schedules(store, owner, stopping, jobs_dir=config.jobs_dir,
                                         tick=config.tick, webhooks=limits), name="schedules")
            await stopping.wait()
            await stop_workers(workers, tasks, config.grace)
    finally:
        await asyncio.to_thread(pool.close)
        await embedded.aclose()
        await runner.cleanup()
        await store.close()
    log.info("ocrpipe up: stopped")


def install_signal_handlers(stopping: asyncio.Event, task: asyncio.Task[None]) -> None:
    """First SIGINT/SIGTERM: stop cleanly (`stopping`); a second: cancel `task` at once
    (running jobs still go back to the queue)."""
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if stopping.is_set():
            log.warning("%s again: stopping now", sig.name)
            task.cancel()
            return
        log.warning("%s: stopping; send it again to stop now", sig.name)
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)


async def main(config: UpConfig, on_ready: Callable[[str], None] | None = None) -> None:
    """`serve_up` with the signal handlers of a foreground process."""
    stopping = asyncio.Event()
    task = asyncio.current_task()
    assert task is not None
    install_signal_handlers(stopping, task)
    await serve_up(config, stopping, on_ready)
