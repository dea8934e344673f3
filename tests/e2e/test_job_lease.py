"""One active run per job on a state database (issue 10, class 3).

Two `ocrpipe run` processes of the same job: the second exits 2 and names the process
holding the job, or with `--wait` waits for it; either way no page is billed twice. A
run killed with SIGKILL holds nothing: the next run takes over at once (same host, its
process gone), and a lease whose heartbeat stopped is free after `LEASE_S`. The lease is
a row in the state database, not a lock file: nothing needs cleaning after a crash.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pipeline.joblock import LEASE_S
from pipeline.testing import FakeOcrServer, Reply
from tests.support.cli_run import environment, finish, job_text, ocrpipe_run, start
from tests.support.inputs import text_page
from tests.support.jobs import FAKE_AK, FAKE_SK

DOCUMENTS = 4


@pytest.fixture
async def slow_server() -> AsyncIterator[FakeOcrServer]:
    """Each answer takes 1.5 s, so a run lasts long enough (6 s) to be met by another
    process, even one that takes seconds to start on a loaded machine."""
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}, default=Reply.ok(delay=1.5)) as s:
        yield s


def make_job(tmp: Path, server: FakeOcrServer) -> Path:
    inputs = tmp / "in"
    inputs.mkdir()
    for n in range(DOCUMENTS):
        text_page([f"Document {n}"], size=(320, 120)).save(inputs / f"doc{n}.png")
    job = tmp / "job.toml"
    job.write_text(job_text("leased", inputs, tmp / "out", server, ocr="concurrency = 1\n"))
    return job


async def calls_reach(server: FakeOcrServer, count: int) -> None:
    reached = asyncio.Event()
    server.on_request = lambda _: reached.set() if server.call_count >= count else None
    if server.call_count < count:
        await asyncio.wait_for(reached.wait(), 120)


def ledger(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT doc_key, outcome FROM usage").fetchall()


async def test_a_second_run_of_the_same_job_exits_2_and_names_the_first(
    tmp_path: Path, slow_server: FakeOcrServer
) -> None:
    job, env = make_job(tmp_path, slow_server), environment(tmp_path)
    first = await start(job, env)
    await calls_reach(slow_server, 1)
    second = await ocrpipe_run(job, env)
    assert second.code == 2 and second.no_traceback(), second.out
    assert "already running" in second.out and f"process {first.pid} " in second.out
    assert "--wait" in second.out

    done = await finish(first)
    assert done.code == 0, done.out
    assert slow_server.call_count == DOCUMENTS  # nothing sent twice
    assert sorted(ledger(tmp_path / "state.db")) == [
        (f"doc{n}.png", "billed") for n in range(DOCUMENTS)
    ]


async def test_with_wait_the_second_run_waits_and_sends_nothing_again(
    tmp_path: Path, slow_server: FakeOcrServer
) -> None:
    job, env = make_job(tmp_path, slow_server), environment(tmp_path)
    first = await start(job, env)
    await calls_reach(slow_server, 1)
    second = await start(job, env, "--wait")
    one, two = await finish(first), await finish(second)
    assert one.code == 0 and two.code == 0, (one.out, two.out)
    assert "waiting for it to end" in two.out and "4 unchanged" in two.out
    assert slow_server.call_count == DOCUMENTS
    assert all(outcome == "billed" for _, outcome in ledger(tmp_path / "state.db"))


async def test_a_killed_run_does_not_hold_the_job(
    tmp_path: Path, slow_server: FakeOcrServer
) -> None:
    job, env = make_job(tmp_path, slow_server), environment(tmp_path)
    first = await start(job, env)
    await calls_reach(slow_server, 1)
    first.kill()
    await first.wait()
    again = await ocrpipe_run(job, env)  # at once: its holder's process is gone
    assert again.code == 0, again.out
    assert all((tmp_path / "out" / f"doc{n}.png.txt").is_file() for n in range(DOCUMENTS))


def hold_lease(db: Path, *, host: str, age: float) -> None:
    now = time.time()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO job_leases (job, holder, pid, host, since, heartbeat) "
            "VALUES ('leased', 'someone-else', 4242, ?, ?, ?)",
            (host, now - age - 60, now - age),
        )


async def test_a_lease_held_on_another_host_blocks_until_its_heartbeat_is_stale(
    tmp_path: Path, slow_server: FakeOcrServer
) -> None:
    job, env = make_job(tmp_path, slow_server), environment(tmp_path)
    assert (await ocrpipe_run(job, env)).code == 0
    text_page(["A new document"], size=(320, 120)).save(tmp_path / "in" / "new.png")
    db = tmp_path / "state.db"

    hold_lease(db, host="batch-07.example", age=1.0)
    busy = await ocrpipe_run(job, env)
    assert busy.code == 2 and "process 4242 on batch-07.example" in busy.out, busy.out
    assert slow_server.call_count == DOCUMENTS  # the new document waits
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM job_leases")
    hold_lease(db, host="batch-07.example", age=LEASE_S + 5)
    taken = await ocrpipe_run(job, env)
    assert taken.code == 0 and slow_server.call_count == DOCUMENTS + 1, taken.out
    with sqlite3.connect(db) as conn:  # released at the end
        assert conn.execute("SELECT count(*) FROM job_leases").fetchone() == (0,)


async def test_ctrl_c_while_waiting_stops_the_waiting_run_only(
    tmp_path: Path, slow_server: FakeOcrServer
) -> None:
    job, env = make_job(tmp_path, slow_server), environment(tmp_path)
    first = await start(job, env)
    await calls_reach(slow_server, 1)
    second = await start(job, env, "--wait")
    assert second.stdout is not None
    line = await asyncio.wait_for(second.stdout.readline(), 120)
    assert b"waiting for it to end" in line, line
    second.send_signal(signal.SIGINT)
    stopped = await finish(second)
    assert stopped.code == 130 and "stopped while waiting" in stopped.out, stopped.out
    assert stopped.no_traceback()
    done = await finish(first)
    assert done.code == 0 and slow_server.call_count == DOCUMENTS, done.out


async def test_a_live_process_of_this_host_keeps_its_lease_past_a_slow_heartbeat(
    tmp_path: Path, slow_server: FakeOcrServer
) -> None:
    """A run whose heartbeat is late (a stalled event loop) is not robbed while its
    process lives; once the process is gone the lease is free at once."""
    job, env = make_job(tmp_path, slow_server), environment(tmp_path)
    assert (await ocrpipe_run(job, env)).code == 0
    db = tmp_path / "state.db"
    now = time.time()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO job_leases (job, holder, pid, host, since, heartbeat) "
            "VALUES ('leased', 'stalled', ?, ?, ?, ?)",
            (os.getpid(), socket.gethostname(), now - 600, now - LEASE_S - 30),
        )
    busy = await ocrpipe_run(job, env)
    assert busy.code == 2 and f"process {os.getpid()} " in busy.out, busy.out
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE job_leases SET pid = ?", (NO_SUCH_PID,))
    assert (await ocrpipe_run(job, env)).code == 0


NO_SUCH_PID = 4_194_305  # above Linux's largest pid_max
