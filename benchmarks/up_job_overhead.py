"""What a job costs `ocrpipe up` beyond its pages: many one-page jobs run one after the
other by one job worker, with a worker pool per run (how `up` ran jobs before) and with
the one warm pool every run shares (`pipeline.shared_pool`, how `up` runs them now).

Both modes run in this process, against the same fake OCR service (answering at once),
over a fresh SQLite state store each; the jobs are queued first, then one `JobWorker`
takes them; the time from its start to the last job `done`, divided by the jobs, is the
per-job cost. The shared pool's start (its first job) is inside the measured span.

    .venv/bin/python -m benchmarks.up_job_overhead [--jobs 20] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline.context import worker_count
from pipeline.job_worker import JobWorker, WorkerSettings
from pipeline.leftovers import process_temp_folder
from pipeline.shared_pool import SharedPool
from pipeline.store import JobQueue, open_store
from pipeline.testing import FakeOcrServer, make_page

# a throwaway pair for the loopback fake service, made afresh for every run
FAKE_AK, FAKE_SK = "AKOVERHEAD" + secrets.token_hex(4).upper(), secrets.token_hex(16)


async def run_jobs(tmp: Path, server: FakeOcrServer, jobs: int, pool: SharedPool | None
                   ) -> float:
    """Seconds per job for `jobs` one-page jobs run by one worker."""
    if pool is not None:
        pool.use()
    mode = "shared" if pool is not None else "own"
    os.environ["OCRPIPE_DB"] = str(tmp / f"{mode}.db")
    store = await open_store()
    queue = JobQueue(store)
    ids = []
    for n in range(jobs):
        source = tmp / mode / f"in{n}"
        source.mkdir(parents=True)
        make_page(f"{mode}-{n}", size=(320, 160)).save(source / "page.png")
        job, _ = await queue.submit(name=f"j{n}", enterprise_project="bench", spec={
            "name": f"j{n}", "source": {"url": str(source)},
            "ocr": {"endpoint": server.url, "project_id": server.project_id, "qps": 100},
            "output": {"url": str(tmp / mode / f"out{n}")}})
        ids.append(job.id)
    worker = JobWorker(queue, "bench", WorkerSettings(lease=60, poll=0.01), tmp)
    started = time.monotonic()
    task = asyncio.create_task(worker.run())
    try:
        for job_id in ids:
            while True:
                record = await queue.get(job_id)
                assert record is not None and record.status not in ("failed", "cancelled"), record
                if record.status == "done":
                    break
                await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
        await task
        await store.close()
        if pool is not None:
            await asyncio.to_thread(pool.close)
    return elapsed / jobs


async def main(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="up-job-overhead-"))
    os.environ["HUAWEICLOUD_SDK_AK"], os.environ["HUAWEICLOUD_SDK_SK"] = FAKE_AK, FAKE_SK
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}) as server:
        # each mode in a task of its own: `use()` stays in that task's context
        own = await asyncio.create_task(run_jobs(tmp, server, args.jobs, None))
        with process_temp_folder():  # as `up` runs them
            shared = await asyncio.create_task(
                run_jobs(tmp, server, args.jobs, SharedPool(args.workers)))
        calls = server.call_count
    return {"jobs": args.jobs, "pool_workers": args.workers, "ocr_calls": calls,
            "seconds_per_job_own_pool": round(own, 3),
            "seconds_per_job_shared_pool": round(shared, 3),
            "ratio_own_over_shared": round(own / shared, 2)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20, help="one-page jobs per mode")
    parser.add_argument("--workers", type=int, default=worker_count(),
                        help="worker processes of the shared pool [default: as many as "
                             "`up` starts, and as a run's own pool has]")
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
