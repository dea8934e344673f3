"""`ocrpipe up --jobs DIR` end to end: a real subprocess, the fake OCR service, a job file
with an every-minute schedule, a bad one beside it, SIGHUP, `ocrpipe schedules`.

No test waits a minute for the cron line: the due-time rules are tested on a fake clock
(tests/integration/schedules); here the runs are queued with `ocrpipe schedules run-now`,
which makes the same job a due time makes. Checks: the bad file is reported by file and
key while the good one loads; `schedules list` shows the next due time within a minute;
the first run sends every document and writes its outputs; the second, with no new file,
sends nothing and counts the documents unchanged; SIGHUP reads DIR again at once (the
tick is long); SIGTERM exits 0.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.testing import FakeOcrServer, make_page
from tests.e2e.test_up import environment, wait_until


def ocrpipe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def job_file(folder: Path, name: str, scans: Path, server: FakeOcrServer, extra: str) -> None:
    (folder / f"{name}.toml").write_text(
        f'name = "{name}"\n{extra}\n[source]\nurl = "{scans}"\n'
        f'[ocr]\nendpoint = "{server.url}"\nproject_id = "{server.project_id}"\n'
        f'enterprise_project_id = "finance"\n[output]\nurl = "../out/{name}"\n'
        'formats = ["txt"]\n')


def last_run(env: dict[str, str], name: str) -> str:
    listing = ocrpipe(env, "schedules", "list")
    assert listing.returncode == 0, listing.stderr
    return next(line for line in listing.stdout.splitlines() if line.startswith(name + "\t"))


async def test_up_runs_a_scheduled_job_file(tmp_path: Path, server: FakeOcrServer) -> None:
    env = environment(tmp_path)
    jobs, scans = tmp_path / "jobs", tmp_path / "scans"
    jobs.mkdir()
    scans.mkdir()
    for n in range(3):
        make_page(f"doc{n}", (320, 160)).save(scans / f"doc{n}.png")
    job_file(jobs, "minutely", scans, server, 'schedule = "* * * * *"\ntimezone = "Asia/Shanghai"')
    job_file(jobs, "broken", scans, server, 'schedule = "0 2 * *"')
    log = tmp_path / "up.log"
    with log.open("w") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pipeline", "up", "--port", "0", "--jobs", str(jobs),
            "--tick", "30", env=env, stdout=out, stderr=out)
    try:
        async def loaded() -> bool:
            assert proc.returncode is None, log.read_text()
            return "schedules from" in log.read_text()
        await wait_until(loaded, "the job files to load")
        text = log.read_text()
        assert f"{jobs / 'broken.toml'} has errors:" in text
        assert "schedule: '0 2 * *': a cron line has five fields" in text
        assert "1 loaded, 1 files with errors" in text

        fields = last_run(env, "minutely").split("\t")
        assert fields[1:4] == ["finance", "* * * * *", "Asia/Shanghai"]
        due = datetime.fromisoformat(fields[4])
        assert due.utcoffset() == timedelta(hours=8)
        assert timedelta(0) < due - datetime.now(UTC) <= timedelta(seconds=61)
        assert fields[5] == "-"

        async def ran(count: int) -> bool:
            line = last_run(env, "minutely")
            return line.count(" done: ") == 1 and server.call_count >= count
        first = ocrpipe(env, "schedules", "run-now", "minutely")
        assert first.returncode == 0 and "job job_" in first.stdout, first.stderr
        await wait_until(lambda: ran(3), "the first run")
        assert last_run(env, "minutely").endswith("done: 3 done, 0 unchanged, 0 failed")
        assert sorted(server.echoed) == ["page doc0", "page doc1", "page doc2"]
        assert (tmp_path / "out" / "minutely" / "doc2.png.txt").read_text().strip() == (
            "page doc2")

        second = ocrpipe(env, "schedules", "run-now", "minutely")
        assert second.returncode == 0, second.stderr
        job_id = second.stdout.split("job ")[1].split()[0]

        async def second_done() -> bool:
            line = last_run(env, "minutely")
            return job_id in line and " done: " in line
        await wait_until(second_done, "the second run")
        assert last_run(env, "minutely").endswith("done: 0 done, 3 unchanged, 0 failed")
        assert server.call_count == 3  # nothing new: nothing sent

        job_file(jobs, "hourly", scans, server, 'schedule = "@hourly"')
        proc.send_signal(signal.SIGHUP)  # the tick is 30 s: only SIGHUP reads DIR this soon

        async def reloaded() -> bool:
            return "hourly\t" in ocrpipe(env, "schedules", "list").stdout
        async with asyncio.timeout(20):
            await wait_until(reloaded, "SIGHUP to load hourly.toml")
        assert "SIGHUP: reading" in log.read_text()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 60)
    assert proc.returncode == 0, log.read_text()
