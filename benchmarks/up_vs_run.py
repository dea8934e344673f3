"""`ocrpipe up` against `ocrpipe run`: pages/s of one job, and up's memory over many jobs.

1. The same job (PAGES one-line PNGs, the same fake OCR service answering after DELAY
   seconds, the same qps and concurrency) run by `ocrpipe run` and submitted to
   `ocrpipe up`; pages/s = pages / (last call - first call) at the fake service, so both
   are measured over the same span (process start-up and the pool spawn excluded), and
   end to end (process start to exit for `run`; submit to `done` for `up`).
2. `up`'s RSS (the main process; job worker processes come and go with each run) after
   10 one-page jobs, and after JOBS.

    .venv/bin/python -m benchmarks.up_vs_run [--pages 300] [--qps 30] [--jobs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from pipeline.testing import FakeOcrServer, Reply, make_page

ROOT = Path(__file__).resolve().parents[1]
# a throwaway pair for the loopback fake service, made afresh for every run
FAKE_AK, FAKE_SK = "AKUPVSRUN" + secrets.token_hex(4).upper(), secrets.token_hex(16)


def make_inputs(folder: Path, pages: int) -> None:
    folder.mkdir(parents=True)
    for n in range(pages):
        make_page(f"p{n}", size=(320, 160)).save(folder / f"p{n:05}.png")


def job_toml(name: str, source: Path, out: Path, server: FakeOcrServer, qps: float,
             concurrency: int) -> dict[str, Any]:
    return {"name": name, "source": {"url": str(source)},
            "ocr": {"endpoint": server.url, "project_id": server.project_id, "qps": qps,
                    "concurrency": concurrency, "reuse_results": False},  # up and run: same pages
            "output": {"url": str(out)}}


def to_toml(job: dict[str, Any]) -> str:
    ocr = job["ocr"]
    return (f'name = "{job["name"]}"\n[source]\nurl = "{job["source"]["url"]}"\n'
            f'[ocr]\nendpoint = "{ocr["endpoint"]}"\nproject_id = "{ocr["project_id"]}"\n'
            f'qps = {ocr["qps"]}\nconcurrency = {ocr["concurrency"]}\nreuse_results = false\n'
            f'[output]\nurl = "{job["output"]["url"]}"\n')


def span_rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def http(method: str, url: str, token: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


async def wait_done(base: str, token: str, ids: list[str]) -> None:
    pending = list(ids)
    while pending:
        view = await asyncio.to_thread(http, "GET", f"{base}/v1/jobs/{pending[0]}", token)
        if view["status"] in ("done", "failed", "cancelled"):
            assert view["status"] == "done", view
            pending.pop(0)
        else:
            await asyncio.sleep(1.0)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="up-vs-run-"))
    env = dict(os.environ, HUAWEICLOUD_SDK_AK=FAKE_AK, HUAWEICLOUD_SDK_SK=FAKE_SK,
               PYTHONPATH=str(ROOT), HOME=str(tmp))
    source = tmp / "in"
    make_inputs(source, args.pages)
    times: list[float] = []
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}, default=Reply.ok(delay=args.delay),
                             on_request=lambda call: times.append(time.monotonic())) as server:
        # 1a. ocrpipe run
        job_file = tmp / "run.toml"
        job_file.write_text(to_toml(job_toml("bench", source, tmp / "out-run", server, args.qps,
                                             args.concurrency)))
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pipeline", "run", str(job_file), "--no-progress",
            env=dict(env, OCRPIPE_DB=str(tmp / "run.db")))
        assert await proc.wait() == 0
        run_wall = time.monotonic() - started
        run_rate = span_rate(times)
        times.clear()

        # 1b. ocrpipe up
        up_env = dict(env, OCRPIPE_DB=str(tmp / "up.db"))
        token = (await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "pipeline", "token", "create", "--project",
                             "bench"], env=up_env, capture_output=True, text=True, check=True,
        )).stdout.split()[-1]
        log = (tmp / "up.log").open("w")
        up = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pipeline", "up", "--port", "0", "--workers", "2",
            env=up_env, stdout=log, stderr=log, cwd=tmp)  # the data root holds the jobs
        while True:
            found = re.search(r"job API at (http://[^\s,]+)", (tmp / "up.log").read_text())
            if found:
                break
            await asyncio.sleep(0.1)
        base = found.group(1)
        started = time.monotonic()
        job = http("POST", f"{base}/v1/jobs", token,
                   job_toml("bench", source, tmp / "out-up", server, args.qps, args.concurrency))
        await wait_done(base, token, [job["id"]])
        up_wall = time.monotonic() - started
        up_rate = span_rate(times)

        # 2. memory over many one-page jobs
        one = tmp / "one"
        make_inputs(one, 1)
        ids = [http("POST", f"{base}/v1/jobs", token,
                    job_toml(f"one{n}", one, tmp / "out-one" / str(n), server, args.qps, 1))["id"]
               for n in range(10)]
        await wait_done(base, token, ids)
        rss_10 = rss_kib(up.pid)
        started = time.monotonic()
        ids = [http("POST", f"{base}/v1/jobs", token,
                    job_toml(f"one{n}", one, tmp / "out-one" / str(n), server, args.qps, 1))["id"]
               for n in range(10, args.jobs)]
        await wait_done(base, token, ids)
        many_wall = time.monotonic() - started
        rss_many = rss_kib(up.pid)
        up.terminate()
        assert await up.wait() == 0
    return {
        "pages": args.pages, "qps": args.qps, "concurrency": args.concurrency,
        "delay_s": args.delay,
        "run_pages_per_s": round(run_rate, 2), "up_pages_per_s": round(up_rate, 2),
        "ratio_up_to_run": round(up_rate / run_rate, 3),
        "run_wall_s": round(run_wall, 2), "up_submit_to_done_s": round(up_wall, 2),
        "up_rss_mib_after_10_jobs": round(rss_10 / 1024, 1),
        f"up_rss_mib_after_{args.jobs}_jobs": round(rss_many / 1024, 1),
        f"seconds_for_{args.jobs - 10}_one_page_jobs": round(many_wall, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--qps", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--jobs", type=int, default=200)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
