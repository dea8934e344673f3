"""A fleet of `ocrpipe worker` processes on one PostgreSQL database: pages/s for 1, 2 and
4 workers on this machine, and the fleet's QPS against the QPS its jobs allow.

Set-up per worker count, each on a fresh database (dropped after): the fixed-latency fake
OCR service (`pipeline.testing.FakeOcrServer`) runs as a process of its own (this module
with `--serve-fake`), so that counting calls competes with nobody; JOBS jobs of
PAGES / JOBS small PNG pages each are put in the queue; then N `ocrpipe worker
--concurrency K` processes start and take them (each process runs K jobs at once). The
figures, from the call times the fake service recorded:

- pages/s: calls over the span from the first call to the last (process start-up and
  shutdown excluded), and end to end (workers started to every job done);
- configured QPS: what the jobs running at once allow, job qps x min(JOBS, N x K);
  ratio = achieved / configured (1.0: the fleet feeds the service as fast as its jobs
  allow; below: the machine, not the limit, is the bottleneck);
- workers seen: the most live rows of the worker registry while the jobs ran (each
  process registers and heartbeats: `ocrpipe workers`);
- within reach (`--reach-qps`): K jobs per worker at a low qps, all running at once, and
  the fleet's calls/s while every job sends against the sum of their qps (the limiter's
  first burst of the last job to start falls in the window: a ratio of 1.01-1.02).

Until workers share one job's pages (issue 17 part A), a job is run by one process: the
work is several jobs so that N processes have something to share. With part A, run
`--jobs 1` (one job; its qps is fleet-wide, divided among the workers holding it) and
the configured QPS becomes the job's qps.

    .venv/bin/python -m benchmarks.fleet            # 1, 2, 4 workers; 8 jobs, 960 pages
    .venv/bin/python -m benchmarks.fleet --quick    # 1, 2 workers; 480 pages
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import make_url

from pipeline.fleet.registry import WorkerRegistry
from pipeline.store import JobQueue, Store, open_store
from pipeline.testing import FakeOcrServer, Reply, make_page

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PROJECT_ID = "f" * 32
# a throwaway pair for the loopback fake service, made afresh for every run
FAKE_AK, FAKE_SK = "AKFLEET" + secrets.token_hex(4).upper(), secrets.token_hex(16)
OCRPIPE = str(Path(sys.executable).with_name("ocrpipe"))


@dataclass(frozen=True)
class Setting:
    workers: int
    jobs: int
    pages: int
    per_worker: int
    """`ocrpipe worker --concurrency`: jobs one process runs at once."""
    job_qps: float
    job_concurrency: int
    latency: float

    @property
    def configured_qps(self) -> float:
        if self.jobs == 1:  # one job: its qps is for the whole fleet
            return self.job_qps
        return self.job_qps * min(self.jobs, self.workers * self.per_worker)


@dataclass(frozen=True)
class Result:
    setting: Setting
    times: list[tuple[float, str]]
    """Each call's arrival at the fake service and its job's project id, in order."""
    wall_seconds: float
    workers_seen: int

    @property
    def calls(self) -> int:
        return len(self.times)

    @property
    def pages_per_s(self) -> float:
        span = self.times[-1][0] - self.times[0][0] if self.times else 0.0
        return (self.calls - 1) / span if span > 0 else 0.0

    @property
    def ratio(self) -> float:
        return self.pages_per_s / self.setting.configured_qps

    def steady_qps(self) -> float | None:
        """Calls/s while every job was sending (from the last job's first call to the
        first job's last call); None when there was no such time (jobs ran in turns)."""
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        for at, job in self.times:
            first.setdefault(job, at)
            last[job] = at
        start, end = max(first.values(), default=0.0), min(last.values(), default=0.0)
        if len(first) < self.setting.jobs or end - start < 2.0:
            return None
        return sum(start <= at < end for at, _ in self.times) / (end - start)


# --- the fake service, as a process of its own --------------------------------------------


async def serve_fake(latency: float, port_file: Path, times_file: Path) -> None:
    """Serve until SIGTERM, then write each call's arrival time (`time.monotonic()`, the
    same clock in every process of this machine) and project id (one per job) to
    `times_file`."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    fake = FakeOcrServer(project_id=PROJECT_ID, keep_bodies=False,
                         default=Reply.ok(("Fleet page", 0.99), delay=latency))
    async with fake:
        port_file.with_suffix(".tmp").write_text(fake.url)
        port_file.with_suffix(".tmp").rename(port_file)  # whole, or not there yet
        await stop.wait()
        calls = [(call.received_at, call.project_id) for call in fake.calls
                 if call.api is not None]
    times_file.write_text(json.dumps(calls))


async def start_fake(latency: float, folder: Path) -> tuple[asyncio.subprocess.Process, str]:
    port_file = folder / "fake.url"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.fleet", "--serve-fake", str(port_file),
        "--latency", str(latency), "--times", str(folder / "times.json"))
    for _ in range(300):
        if port_file.exists() and port_file.read_text():
            return process, port_file.read_text()
        await asyncio.sleep(0.1)
    process.kill()
    raise RuntimeError("the fake OCR service did not start within 30 s")


async def stop_fake(process: asyncio.subprocess.Process,
                    folder: Path) -> list[tuple[float, str]]:
    process.send_signal(signal.SIGTERM)
    await process.wait()
    return sorted((t, job) for t, job in json.loads((folder / "times.json").read_text()))


# --- one worker count ---------------------------------------------------------------------


async def _admin(url: str, sql: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def make_inputs(folder: Path, setting: Setting) -> list[Path]:
    """One folder of PAGES / JOBS small PNG pages per job."""
    each = setting.pages // setting.jobs
    sources = []
    for job in range(setting.jobs):
        source = folder / "in" / f"job{job}"
        source.mkdir(parents=True)
        for n in range(each):
            make_page(f"j{job}p{n}", size=(320, 160)).save(source / f"p{n:05}.png")
        sources.append(source)
    return sources


def job_spec(name: str, number: int, source: Path, out: Path, url: str,
             setting: Setting) -> dict[str, Any]:
    # a project id per job, so that the fake service's record tells the jobs' calls apart
    return {"name": name, "source": {"url": str(source)},
            "ocr": {"endpoint": url, "project_id": f"{number:032x}", "qps": setting.job_qps,
                    "concurrency": setting.job_concurrency, "reuse_results": False},
            "output": {"url": str(out), "formats": ["txt"]}}


async def all_done(store: Store, ids: list[str]) -> bool:
    queue = JobQueue(store)
    for job_id in ids:
        job = await queue.get(job_id)
        if job is None or job.status in ("failed", "cancelled"):
            raise RuntimeError(f"job {job_id} ended {job.status if job else 'missing'}: "
                               f"{job.error if job else ''}")
        if job.status != "done":
            return False
    return True


async def done_or_why(store: Store, ids: list[str], folder: Path) -> bool:
    try:
        return await all_done(store, ids)
    except RuntimeError as exc:
        logs = "".join(p.read_text(errors="replace")[-3000:] for p in folder.glob("worker*.log"))
        raise RuntimeError(f"{exc}\n{logs}") from None


async def run_setting(setting: Setting, admin: str, folder: Path) -> Result:
    name = "ocrpipe_bench_fleet_" + secrets.token_hex(4)
    await _admin(admin, f'CREATE DATABASE "{name}"')
    db = make_url(admin).set(database=name).render_as_string(hide_password=False)
    sources = await asyncio.to_thread(make_inputs, folder, setting)
    fake, url = await start_fake(setting.latency, folder)
    workers: list[asyncio.subprocess.Process] = []
    store = await open_store(db)
    try:
        queue = JobQueue(store)
        ids = []
        for k, source in enumerate(sources):
            job, _ = await queue.submit(name=f"fleet{k}", enterprise_project="bench", spec=job_spec(
                f"fleet{k}", k, source, folder / "out" / f"job{k}", url, setting))
            ids.append(job.id)
        env = {**os.environ, "OCRPIPE_DB": db, "HUAWEICLOUD_SDK_AK": FAKE_AK,
               "HUAWEICLOUD_SDK_SK": FAKE_SK}
        started = time.monotonic()
        for n in range(setting.workers):
            log = (folder / f"worker{n}.log").open("wb")
            workers.append(await asyncio.create_subprocess_exec(
                OCRPIPE, "worker", "--concurrency", str(setting.per_worker), "--grace", "5",
                env=env, cwd=folder, stdout=log, stderr=asyncio.subprocess.STDOUT))
        registry, seen = WorkerRegistry(store), 0
        while not await done_or_why(store, ids, folder):
            now = datetime.now(UTC)
            live = [row for row in await registry.list_workers() if row.state(now) == "live"]
            seen = max(seen, len(live))
            if any(w.returncode is not None for w in workers):
                raise RuntimeError(f"a worker exited early: see {folder}/worker*.log")
            await asyncio.sleep(0.2)
        wall = time.monotonic() - started
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            await worker.wait()
        times = await stop_fake(fake, folder)
        await store.close()
        await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return Result(setting, times, wall, seen)


def report(results: list[Result]) -> str:
    lines = [f"{'workers':>7} {'jobs':>4} {'pages':>6} {'pages/s':>8} {'e2e p/s':>8} "
             f"{'configured QPS':>14} {'ratio':>6} {'seen':>4}"]
    for r in results:
        s = r.setting
        lines.append(f"{s.workers:>7} {s.jobs:>4} {r.calls:>6} {r.pages_per_s:>8.1f} "
                     f"{r.calls / r.wall_seconds:>8.1f} {s.configured_qps:>14.0f} "
                     f"{r.ratio:>6.3f} {r.workers_seen:>4}")
    base = results[0].pages_per_s
    lines.append("pages/s relative to 1 worker: " + ", ".join(
        f"{r.setting.workers}: {r.pages_per_s / base:.2f}" for r in results))
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    admin = os.environ.get("OCRPIPE_BENCH_PG", ADMIN)
    counts = [1, 2] if args.quick else [int(n) for n in args.workers.split(",")]
    pages = args.pages or (480 if args.quick else 960)
    results = []
    for count in counts:
        setting = Setting(workers=count, jobs=args.jobs, pages=pages,
                          per_worker=args.per_worker, job_qps=args.job_qps,
                          job_concurrency=args.job_concurrency, latency=args.latency)
        with tempfile.TemporaryDirectory(prefix="ocrpipe-fleet-bench-") as tmp:
            results.append(await run_setting(setting, admin, Path(tmp)))
        print(f"{count} workers: {results[-1].pages_per_s:.1f} pages/s", flush=True)
    reach = []
    if args.reach_qps > 0:  # the limit within reach: every job runs at once, at a low qps
        for count in counts:
            jobs = count * args.per_worker
            setting = Setting(workers=count, jobs=jobs, pages=jobs * int(args.reach_qps * 10),
                              per_worker=args.per_worker, job_qps=args.reach_qps,
                              job_concurrency=args.job_concurrency, latency=args.latency)
            with tempfile.TemporaryDirectory(prefix="ocrpipe-fleet-bench-") as tmp:
                reach.append(await run_setting(setting, admin, Path(tmp)))
    print(f"\n{os.cpu_count()} cores; fake OCR latency {args.latency * 1000:.0f} ms; job qps "
          f"{args.job_qps:g}, concurrency {args.job_concurrency}; --concurrency "
          f"{args.per_worker} jobs per worker")
    print(report(results))
    if reach:
        print(f"\nwithin reach: {args.per_worker} jobs per worker at qps {args.reach_qps:g} "
              "each, all running at once; fleet calls/s while all jobs send")
        print(f"{'workers':>7} {'jobs':>4} {'configured QPS':>14} {'fleet QPS':>9} {'ratio':>6}")
        for r in reach:
            steady = r.steady_qps()
            shown = f"{steady:>9.1f} {steady / r.setting.configured_qps:>6.3f}" if steady \
                else f"{'-':>9} {'-':>6}"
            print(f"{r.setting.workers:>7} {r.setting.jobs:>4} "
                  f"{r.setting.configured_qps:>14.0f} {shown}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            [{"workers": r.setting.workers, "jobs": r.setting.jobs, "calls": r.calls,
              "job_qps": r.setting.job_qps, "pages_per_s": round(r.pages_per_s, 2),
              "configured_qps": r.setting.configured_qps, "ratio": round(r.ratio, 4),
              "steady_qps": r.steady_qps(), "wall_seconds": round(r.wall_seconds, 2),
              "workers_seen": r.workers_seen} for r in results + reach], indent=2))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 and 2 workers, 480 pages")
    parser.add_argument("--workers", default="1,2,4", help="worker counts (default 1,2,4)")
    parser.add_argument("--jobs", type=int, default=8,
                        help="jobs the pages are split into (1 once workers share a job)")
    parser.add_argument("--pages", type=int, default=None, help="pages in all")
    parser.add_argument("--per-worker", type=int, default=2,
                        help="ocrpipe worker --concurrency (jobs per process)")
    parser.add_argument("--job-qps", type=float, default=60.0)
    parser.add_argument("--job-concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05, help="fake OCR seconds/call")
    parser.add_argument("--reach-qps", type=float, default=4.0,
                        help="job qps of the within-reach pass (0: skip it)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument("--serve-fake", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--times", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    if arguments.serve_fake is not None:
        asyncio.run(serve_fake(arguments.latency, arguments.serve_fake, arguments.times))
    else:
        asyncio.run(main(arguments))
