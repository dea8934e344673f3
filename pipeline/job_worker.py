"""A job worker: claim a queued job, run it through `run_job`, hold its lease, record how
it ended; again, until told to stop.

While a job runs, its lease is renewed every few seconds; the same write reads the job's
status, so a cancel through the API (`cancelling`) reaches the run within a renewal: the
run's stop event is set, the calls in flight finish, the job ends `cancelled`. When the
worker itself stops (`up` got SIGTERM), its run stops the same way and the job goes back
to `queued` for the next `up`. A worker killed outright leaves its lease to run out; then
any worker takes the job again and its run resumes (finished pages are never re-sent).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import JobSpec, job_from_data
from pipeline.errors import JobInterrupted, OcrpipeError
from pipeline.fleet.job_run import FleetSettings
from pipeline.fleet.joining import help_a_job, run_owned
from pipeline.listing_count import count_documents
from pipeline.models import RunSummary
from pipeline.runner import exit_code_of, run_job
from pipeline.store import JobQueue, JobRecord, JobStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    lease: float = 30.0
    """Seconds a claim holds without renewal; a killed worker's job waits this long."""
    poll: float = 1.0
    """Seconds between looks at an empty queue."""
    fleet: bool | None = None
    """Share each job's documents and page ranges with the other workers (work items,
    pipeline/fleet/); None: on PostgreSQL only (on SQLite one process runs a job)."""

    @property
    def renew_every(self) -> float:
        return min(self.lease / 3, 2.0)


class JobWorker:
    """One worker: runs one job at a time. `stop()` asks it to finish cleanly."""

    def __init__(self, queue: JobQueue, name: str, settings: WorkerSettings,
                 base_dir: Path) -> None:
        self.queue, self.name, self.settings, self.base_dir = queue, name, settings, base_dir
        self._stopping = asyncio.Event()
        self._run_stop: asyncio.Event | None = None
        self.job: JobRecord | None = None
        """The job it runs now (the worker registry shows it: pipeline/fleet/)."""
        fleet = settings.fleet
        self.fleet = queue.engine.dialect.name == "postgresql" if fleet is None else fleet

    def stop(self) -> None:
        """Take no new job; the running one stops taking pages and goes back to the queue."""
        self._stopping.set()
        if self._run_stop is not None:
            self._run_stop.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                job = await self.queue.claim(self.name, self.settings.lease)
                if job is not None:
                    await self.run_one(job)
                    continue
                if self.fleet and await self._help():
                    continue
            except Exception:  # the state database locked or full: said, then tried again
                log.exception("worker %s: the job queue failed; trying again", self.name)
            try:
                await asyncio.wait_for(self._stopping.wait(), self.settings.poll)
            except TimeoutError:
                pass

    async def run_one(self, job: JobRecord) -> None:
        where = f"job={job.name} id={job.id} project={job.enterprise_project}"
        log.info("%s claimed by %s (run %d)", where, self.name, job.attempts)
        run_stop = self._run_stop = asyncio.Event()
        self.job = job
        if self._stopping.is_set():
            run_stop.set()
        cancelled = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(job, run_stop, cancelled),
                                     name=f"lease {job.id}")
        try:
            summary = await self._run(job, run_stop)
        except JobInterrupted:
            if cancelled.is_set():
                await self._finish(job, "cancelled", None, "cancelled on request")
            else:
                status = await asyncio.shield(self.queue.release(job.id, self.name))
                if status is None:
                    log.warning("%s stopped: its lease was lost to another worker", where)
                else:
                    log.info("%s stopped with the worker: %s again", where, status)
        except asyncio.CancelledError:  # the grace ran out
            status = await asyncio.shield(self.queue.release(job.id, self.name))
            log.warning("%s stopped at once with the worker: %s again", where, status)
            raise
        except OcrpipeError as exc:
            await self._finish(job, "failed", int(exc.exit_code), str(exc))
        except Exception as exc:
            log.exception("%s failed", where)
            await self._finish(job, "failed", 2, f"internal error ({exc.__class__.__name__}); "
                               "the server log has the details")
        else:
            failed = summary.documents_failed
            error = (f"{failed} documents failed: see GET /v1/jobs/{job.id}/documents"
                     "?status=failed" if failed else None)
            await self._finish(job, "done", int(exit_code_of(summary)), error, summary)
        finally:
            keeper.cancel()
            self._run_stop = self.job = None

    async def _run(self, job: JobRecord, run_stop: asyncio.Event) -> RunSummary:
        spec = job_from_data(job.spec, origin=f"job {job.id}", base_dir=self.base_dir)
        # the state store keys the job's documents and ledger rows by project and name
        spec = spec.model_copy(update={"name": job.run_key})
        only = None
        if job.run_scope == "failed":  # a retry: the documents that failed, no others
            only = await self.queue.unfinished_keys(job.run_key)
            log.info("job=%s id=%s retry of %d failed documents", job.name, job.id, len(only))
        counting = asyncio.create_task(  # the fleet's listing counts as it goes, once
            asyncio.sleep(0) if self.fleet else self._count_listing(job, spec, only),
            name=f"count {job.id}")
        try:
            if self.fleet:
                return await run_owned(job, job.run_key, self.name, run_stop, only,
                                       self._fleet_settings, self.base_dir)
            return await run_job(spec, stopping=run_stop, only=only)
        finally:
            counting.cancel()

    @property
    def _fleet_settings(self) -> FleetSettings:
        return FleetSettings(lease=self.settings.lease, poll=self.settings.poll)

    async def _help(self) -> bool:
        """Work on another worker's job that has items to claim (pipeline/fleet/)."""
        run_stop = self._run_stop = asyncio.Event()
        if self._stopping.is_set():
            run_stop.set()
        try:
            return await help_a_job(self.queue, self.name, run_stop, self._fleet_settings,
                                    self.base_dir)
        finally:
            self._run_stop = None

    async def _count_listing(self, job: JobRecord, spec: JobSpec,
                             only: frozenset[str] | None) -> None:
        """Count what the run lists, for the job's ETA; a failure costs only the ETA (the
        run itself reports a source it cannot list)."""
        try:
            count = await count_documents(spec, only)
            await self.queue.note_listed(job.id, self.name, count)
        except Exception as exc:
            log.info("job=%s id=%s: the documents could not be counted ahead (%s): no ETA "
                     "until they have all been opened", job.name, job.id, exc)

    async def _finish(self, job: JobRecord, status: JobStatus, exit_code: int | None,
                      error: str | None, summary: RunSummary | None = None) -> None:
        counts = dataclasses.asdict(summary) if summary is not None else None
        held = await asyncio.shield(self.queue.finish(
            job.id, self.name, status=status, exit_code=exit_code, error=error, summary=counts,
        ))
        where = f"job={job.name} id={job.id} project={job.enterprise_project}"
        if held:
            log.info("%s %s%s", where, status, f": {error}" if error else "")
        else:
            log.warning("%s ended (%s) after its lease was lost: the run that holds it now "
                        "records the outcome", where, status)

    async def _keep_lease(self, job: JobRecord, run_stop: asyncio.Event,
                          cancelled: asyncio.Event) -> None:
        """Renew the lease; stop the run when the job is cancelled or the lease lost."""
        while True:
            await asyncio.sleep(self.settings.renew_every)
            try:
                status = await self.queue.renew(job.id, self.name, self.settings.lease)
            except Exception:
                log.exception("job id=%s: renewing the lease failed; trying again", job.id)
                continue
            if status == "cancelling" and not cancelled.is_set():
                log.info("job=%s id=%s cancelling: the calls in flight finish", job.name, job.id)
                cancelled.set()
                run_stop.set()
            elif status is None:
                log.warning("job=%s id=%s: lease lost (another worker took the job); "
                            "stopping this run", job.name, job.id)
                run_stop.set()
                return


async def stop_workers(
    workers: list[JobWorker], tasks: list[asyncio.Task[None]], grace: float
) -> None:
    """The ordered stop of `up` and `worker`: no new jobs, the OCR calls in flight get
    `grace` seconds to finish, then what still runs is cancelled (its job goes back to
    the queue)."""
    log.warning("stopping: no new jobs; the OCR calls in flight finish (up to %g s), "
                "then running jobs go back to the queue", grace)
    for worker in workers:
        worker.stop()
    _, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        task.cancel()
