"""Killed and interrupted runs: nothing lost, nothing billed twice (DESIGN invariants 1, 2).

A real `ocrpipe run` subprocess against the fault-injecting fake OCR service: it is
killed with SIGKILL (or stopped with SIGTERM) while calls are in flight, then run again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from pipeline.testing import FakeOcrServer, Reply, tagged_images, tagged_pdf
from tests.support.jobs import FAKE_AK, FAKE_SK
from tests.support.outputs import echoed, page_texts, txt_pages
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT
BOOK = [f"book-p{n}" for n in range(1, 10)]
IMAGES = [f"img{n}" for n in range(3)]
PAGES = len(BOOK) + len(IMAGES)  # a 9-page PDF and three images, each page tagged


def make_job(tmp: Path, server: FakeOcrServer) -> tuple[Path, dict[str, str]]:
    inputs = tmp / "in"
    inputs.mkdir()
    tagged_pdf(inputs / "book.pdf", BOOK, size=(400, 300), resolution=100.0)
    tagged_images(inputs, IMAGES, size=(320, 160))
    job = tmp / "job.toml"
    job.write_text(
        f'name = "kill"\n[source]\nurl = "{inputs}"\n'
        f'[ocr]\nendpoint = "{server.url}"\nproject_id = "{server.project_id}"\n'
        'concurrency = 2\nqps = 50\ntimeout = 30\n'
        f'[output]\nurl = "{tmp / "out"}"\n'
    )
    env = dict(
        os.environ, HUAWEICLOUD_SDK_AK=FAKE_AK, HUAWEICLOUD_SDK_SK=FAKE_SK,
        OCRPIPE_DB=str(tmp / "state.db"), PYTHONPATH=str(ROOT),
    )
    return job, env


async def start(job: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`ocrpipe run` in the background; its output goes to a file beside the job."""
    with (job.parent / "ocrpipe.log").open("a") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pipeline", "run", str(job), "--no-progress", "--grace", "20",
            env=env, stdout=log, stderr=log,
        )


async def finish(proc: asyncio.subprocess.Process, job: Path) -> tuple[int, str]:
    """Wait for the process; its exit code and everything it wrote."""
    code = await proc.wait()
    return code, (job.parent / "ocrpipe.log").read_text()


async def wait_for_calls(
    server: FakeOcrServer, count: int, proc: asyncio.subprocess.Process
) -> None:
    """Until the server has seen `count` calls; fails with ocrpipe's output if it ended."""
    ended = asyncio.ensure_future(proc.wait())
    try:
        async with asyncio.timeout(120):
            while server.call_count < count:
                if ended.done():
                    raise AssertionError("ocrpipe ended before the calls came (see its log)")
                await asyncio.sleep(0.05)
    finally:
        if not ended.done():
            ended.cancel()


def ledger(db: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT doc_key, page_index, outcome FROM usage").fetchall()


def document_states(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT key, status FROM documents").fetchall())


def assert_each_output_is_its_own_input(out: Path) -> None:
    """Every page came back in its place with its own text: none mixed up, none doubled."""
    assert txt_pages(out, "book.pdf") == page_texts(out, "book.pdf") == echoed(BOOK)
    for tag in IMAGES:
        assert page_texts(out, f"{tag}.png") == echoed([tag])


def billed_per_page(rows: list[tuple[str, int, str]]) -> dict[tuple[str, int], int]:
    counts: dict[tuple[str, int], int] = {}
    for doc, page, outcome in rows:
        if outcome == "billed":
            counts[(doc, page)] = counts.get((doc, page), 0) + 1
    return counts


async def test_kill_9_mid_job_then_rerun_completes_without_double_billing(
    tmp_path: Path, server: FakeOcrServer
) -> None:
    job, env = make_job(tmp_path, server)
    server.script(*[Reply.echo() for _ in range(5)])
    server.default = Reply.hang(seconds=10)  # later calls never answer: in flight at the kill
    proc = await start(job, env)
    await wait_for_calls(server, 7, proc)  # 5 answered + 2 hanging (concurrency 2)
    await asyncio.sleep(0.5)  # let the answered pages commit
    proc.kill()
    await proc.wait()
    await asyncio.sleep(0.5)  # its workers die with it (PR_SET_PDEATHSIG)

    after_kill = ledger(tmp_path / "state.db")
    billed_before = billed_per_page(after_kill)
    in_flight = [row for row in after_kill if row[2] == "pending"]
    assert len(billed_before) == 5 and len(in_flight) >= 2

    server.default = Reply.echo()
    calls_before = server.call_count
    code, log = await finish(await start(job, env), job)
    assert code == 0, log

    rows = ledger(tmp_path / "state.db")
    assert set(document_states(tmp_path / "state.db").values()) == {"done"}
    per_page = billed_per_page(rows)
    assert len(per_page) == PAGES and set(per_page.values()) == {1}  # each page billed once
    assert server.call_count - calls_before == PAGES - len(billed_before)  # none sent again
    unknown = [row for row in rows if row[2] == "unknown"]
    assert len(unknown) == len(in_flight)  # calls in flight at the kill: outcome unknown
    assert_each_output_is_its_own_input(tmp_path / "out")
    # what each call carried: the pages answered before the kill, then only the others
    answered = server.echoed
    assert len(answered) == len(set(answered)) == PAGES
    assert set(answered) == set(echoed(BOOK + IMAGES))


async def test_sigterm_finishes_calls_in_flight_then_exits_130_and_resumes(
    tmp_path: Path, server: FakeOcrServer
) -> None:
    job, env = make_job(tmp_path, server)
    server.script(*[Reply.echo() for _ in range(3)])
    server.default = Reply.echo(delay=2.0)  # slow answers: in flight when the signal comes
    proc = await start(job, env)
    await wait_for_calls(server, 5, proc)
    proc.send_signal(signal.SIGTERM)
    code, log = await finish(proc, job)
    assert code == 130, log
    assert "run the same job again to resume" in log

    rows = ledger(tmp_path / "state.db")
    assert not [row for row in rows if row[2] in ("pending", "unknown")]  # all answered
    billed_first = len(billed_per_page(rows))
    assert billed_first == server.call_count < PAGES  # stopped taking new pages
    # the two calls in flight at the signal were the last: pages already rendered and
    # waiting for a call slot were not sent during the grace period
    assert server.call_count == 5

    server.default = Reply.echo()
    code, log = await finish(await start(job, env), job)
    assert code == 0, log
    per_page = billed_per_page(ledger(tmp_path / "state.db"))
    assert len(per_page) == PAGES and set(per_page.values()) == {1}
    assert server.call_count == PAGES
    assert_each_output_is_its_own_input(tmp_path / "out")
    assert sorted(server.echoed) == sorted(echoed(BOOK + IMAGES))  # each page sent once
