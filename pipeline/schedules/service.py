"""The schedules task of `ocrpipe up`: load `--jobs DIR`, keep it in step, fire due times.

Every `tick` seconds: if DIR changed (a job file added, written or removed) or SIGHUP
came, DIR is read again; then the scheduler does one pass. Schedules made through the API
are in the state store and fire the same way, with or without `--jobs`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from pipeline.schedules.loader import WebhookLimits, signature, sync_dir
from pipeline.schedules.scheduler import Clock, Scheduler, utc_now
from pipeline.store import Store

log = logging.getLogger(__name__)


async def run_schedules(store: Store, owner: str, stopping: asyncio.Event, *,
                        jobs_dir: Path | None = None, tick: float = 15.0,
                        webhooks: WebhookLimits | None = None, clock: Clock = utc_now) -> None:
    """Until `stopping` is set (see the module docstring)."""
    scheduler = Scheduler(store, owner, clock=clock, grace=max(60.0, 3 * tick))
    hangup = asyncio.Event()
    loop = asyncio.get_running_loop()
    if jobs_dir is not None:
        try:
            loop.add_signal_handler(signal.SIGHUP, hangup.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            log.debug("SIGHUP not watched: DIR is still read again when a file changes")
    seen: tuple[tuple[str, int, int], ...] | None = None
    try:
        while not stopping.is_set():
            try:
                if jobs_dir is not None and (hangup.is_set() or signature(jobs_dir) != seen):
                    if hangup.is_set():
                        log.info("SIGHUP: reading %s again", jobs_dir)
                    hangup.clear()
                    seen = signature(jobs_dir)
                    await sync_dir(store, jobs_dir, clock(), webhooks)
                await scheduler.tick()
            except Exception:  # the state database locked or full: said, then tried again
                log.exception("schedules: a tick failed; trying again in %g s", tick)
            waits = [asyncio.ensure_future(stopping.wait()), asyncio.ensure_future(hangup.wait())]
            try:
                await asyncio.wait(waits, timeout=tick, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()
    finally:
        if jobs_dir is not None:
            try:
                loop.remove_signal_handler(signal.SIGHUP)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
