"""What a `kill -9` leaves is cleaned at the next run of the job, and temporary files
go under `[run] temp_dir` (issue 10, class 6)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pipeline.testing import FakeOcrServer, Reply
from tests.support.cli_run import environment, finish, job_text, ocrpipe_run, start
from tests.support.inputs import text_page
from tests.support.jobs import FAKE_AK, FAKE_SK

NO_SUCH_PID = 4_194_305  # above Linux's largest pid_max


@pytest.fixture
async def slow_server() -> AsyncIterator[FakeOcrServer]:
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}, default=Reply.ok(delay=0.5)) as s:
        yield s


def make_job(tmp: Path, server: FakeOcrServer, temp_dir: Path) -> Path:
    inputs = tmp / "in"
    inputs.mkdir()
    for n in range(4):
        text_page([f"Document {n}"], size=(320, 120)).save(inputs / f"doc{n}.png")
    job = tmp / "job.toml"
    job.write_text(job_text(
        "leftover", inputs, tmp / "out", server, extra=f'[run]\ntemp_dir = "{temp_dir}"\n',
        ocr="concurrency = 1\n",
    ))
    return job


async def test_a_killed_runs_temporary_folder_and_part_files_go_at_the_next_run(
    tmp_path: Path, slow_server: FakeOcrServer
) -> None:
    temp = tmp_path / "scratch"
    temp.mkdir()
    job, env = make_job(tmp_path, slow_server, temp), environment(tmp_path)
    proc = await start(job, env)
    reached = asyncio.Event()
    slow_server.on_request = lambda _: reached.set()
    await asyncio.wait_for(reached.wait(), 120)
    proc.kill()
    await proc.wait()
    left = [p.name for p in temp.iterdir()]
    assert left == [p.name for p in temp.glob(f"ocrpipe-run-leftover-{proc.pid}-*")] != []

    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    dead_part = out / f".doc0.png.txt.{NO_SUCH_PID}-abc123.part"
    live_part = out / f".doc0.png.txt.{os.getpid()}-def456.part"  # a live writer's
    other_job = temp / f"ocrpipe-run-otherjob-{NO_SUCH_PID}-zz"
    old_probe, new_probe = out / ".ocrpipe-probe-old", out / ".ocrpipe-probe-new"
    for made in (dead_part, live_part, old_probe, new_probe):
        made.write_text("half")
    os.utime(old_probe, (1_000_000_000, 1_000_000_000))  # left by a run killed long ago
    other_job.mkdir()

    again = await ocrpipe_run(job, env)
    assert again.code == 0, again.out
    assert not dead_part.exists() and live_part.exists()
    assert not old_probe.exists() and new_probe.exists()  # a probe of a run going on now
    assert sorted(p.name for p in temp.iterdir()) == [other_job.name]  # only another job's
    assert all((out / f"doc{n}.png.txt").is_file() for n in range(4))


async def test_temporary_files_are_made_under_temp_dir(
    tmp_path: Path, slow_server: FakeOcrServer
) -> None:
    temp = tmp_path / "scratch"
    temp.mkdir()
    job, env = make_job(tmp_path, slow_server, temp), environment(tmp_path)
    proc = await start(job, env)
    seen: set[str] = set()

    def look(_: object) -> None:
        seen.update(p.name for p in temp.iterdir())

    slow_server.on_request = look
    done = await finish(proc)
    assert done.code == 0, done.out
    assert any(name.startswith(f"ocrpipe-run-leftover-{proc.pid}-") for name in seen), seen
    assert list(temp.iterdir()) == []  # removed at the end


async def test_a_temp_dir_that_is_not_a_folder_stops_with_exit_2(
    tmp_path: Path, slow_server: FakeOcrServer
) -> None:
    job = make_job(tmp_path, slow_server, tmp_path / "missing")
    run = await ocrpipe_run(job, environment(tmp_path))
    assert run.code == 2 and "run.temp_dir" in run.out and run.no_traceback(), run.out
    assert slow_server.call_count == 0
