"""How a job worker takes part in a shared job: as its owner, or as a helper.

`JobWorker` (job_worker.py) claims whole jobs from the queue as before; with the fleet
on (PostgreSQL by default: `WorkerSettings.fleet`), the job it claims is run as work
items (`ItemRun` as owner: it lists and ends the job), and a worker that finds no queued
job joins a running job that has items to claim (`help_a_job`), so any number of
`ocrpipe worker` and `ocrpipe up` processes share one job's documents and page ranges.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from pipeline.config import job_from_data
from pipeline.errors import JobInterrupted, OcrpipeError
from pipeline.fleet.job_run import FleetSettings, ItemRun
from pipeline.models import RunSummary
from pipeline.store import JobQueue, JobRecord
from pipeline.store.work_items import WorkItems

log = logging.getLogger(__name__)


async def run_owned(job: JobRecord, spec_name: str, holder: str, stopping: asyncio.Event,
                    only: frozenset[str] | None, settings: FleetSettings,
                    base_dir: Path) -> RunSummary:
    """The claimed job as the owner of its work items (`JobInterrupted` on a stop)."""
    spec = job_from_data(job.spec, origin=f"job {job.id}", base_dir=base_dir)
    spec = spec.model_copy(update={"name": spec_name})
    return await ItemRun(spec, job.id, holder, settings, stopping, owner=True,
                         only=only).run()


async def help_a_job(queue: JobQueue, holder: str, stopping: asyncio.Event,
                     settings: FleetSettings, base_dir: Path) -> bool:
    """Join a running job with items to claim and work on it until none is left to
    claim; False when there was none to join."""
    for job_id in await WorkItems(queue).open_jobs():
        job = await queue.get(job_id)
        if job is None or job.status != "running" or job.lease_owner == holder:
            continue
        where = f"job={job.name} id={job.id} project={job.enterprise_project}"
        log.info("%s: %s helps", where, holder)
        try:
            spec = job_from_data(job.spec, origin=f"job {job.id}", base_dir=base_dir)
            spec = spec.model_copy(update={"name": job.run_key})
            await ItemRun(spec, job.id, holder, settings, stopping, owner=False).run()
        except JobInterrupted:
            log.info("%s: %s stopped helping; its items are queued again", where, holder)
        except OcrpipeError as exc:  # the owner meets it too, and fails the job with it
            log.warning("%s: %s cannot help: %s", where, holder, exc)
            await _pause(stopping, settings.poll)
        except Exception:
            log.exception("%s: %s failed while helping", where, holder)
            await _pause(stopping, settings.poll)
        return True
    return False


async def _pause(stopping: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except TimeoutError:
        pass
