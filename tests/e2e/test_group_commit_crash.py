"""The crash bound of group commits: `kill -9` of a fast run, then run again.

Many small pages against a fast fake service (answers after 20 ms), 8 calls in flight,
so the state store commits the writes of many pages per transaction when the process is
killed. What must hold (DESIGN.md invariants 1 and 2, and the bound stated in
pipeline/store/group_commit.py):

- every call the service received had its attempt row committed before it was sent;
- the rerun sends again only the pages whose answers were not committed: at most the
  job's page slots (2 x concurrency), however the kill falls;
- in the end each page is billed exactly once and every output holds its own page.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

from pipeline.testing import FakeOcrServer, Reply, tagged_images
from tests.support.jobs import FAKE_AK, FAKE_SK
from tests.support.outputs import echoed, page_texts
from tests.support.paths import REPO_ROOT

TAGS = [f"pg{n:03d}" for n in range(120)]
CONCURRENCY = 8
PAGE_SLOTS = 2 * CONCURRENCY


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


async def run_until(
    job: Path, env: dict[str, str], server: FakeOcrServer, kill_after: int | None
) -> int:
    """`ocrpipe run`; killed with SIGKILL once the service has seen `kill_after` calls."""
    with (job.parent / "ocrpipe.log").open("a") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pipeline", "run", str(job), "--no-progress",
            env=env, stdout=log, stderr=log,
        )
    if kill_after is None:
        return await proc.wait()
    async with asyncio.timeout(120):
        while server.call_count < kill_after:
            assert proc.returncode is None, (job.parent / "ocrpipe.log").read_text()
            await asyncio.sleep(0.005)
    proc.kill()  # no grace: answers in hand and writes queued are lost with it
    code = await proc.wait()
    await asyncio.sleep(0.3)  # its workers die with it
    return code


async def test_kill_9_of_a_fast_run_resends_at_most_the_page_slots(
    tmp_path: Path, server: FakeOcrServer
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    tagged_images(inputs, TAGS, size=(320, 160))
    job = tmp_path / "job.toml"
    job.write_text(
        f'name = "crash"\n[source]\nurl = "{inputs}"\n'
        f'[ocr]\nendpoint = "{server.url}"\nproject_id = "{server.project_id}"\n'
        f"concurrency = {CONCURRENCY}\nqps = 1000\ntimeout = 30\n"
        f'[output]\nurl = "{tmp_path / "out"}"\nformats = ["json"]\n'
    )
    env = dict(os.environ, HUAWEICLOUD_SDK_AK=FAKE_AK, HUAWEICLOUD_SDK_SK=FAKE_SK,
               OCRPIPE_DB=str(tmp_path / "state.db"), PYTHONPATH=str(REPO_ROOT))
    db = tmp_path / "state.db"
    server.default = Reply.echo(delay=0.02)

    code = await run_until(job, env, server, kill_after=len(TAGS) // 2)
    assert code == -9
    sent_first = server.call_count
    billed_first = rows(db, "SELECT COUNT(*) FROM usage WHERE outcome = 'billed'")[0][0]
    recorded_first = rows(db, "SELECT COUNT(*) FROM usage")[0][0]
    assert isinstance(billed_first, int) and isinstance(recorded_first, int)
    assert recorded_first >= sent_first  # every call sent was recorded before it was sent
    assert 0 < billed_first < len(TAGS)

    assert await run_until(job, env, server, kill_after=None) == 0, (
        (tmp_path / "ocrpipe.log").read_text())
    resent = server.call_count - len(TAGS)
    print(f"kill -9 after {sent_first} calls: {billed_first} billed, {resent} sent again")
    assert 0 <= resent <= PAGE_SLOTS  # the crash bound
    assert resent == sent_first - billed_first  # exactly the calls whose answers were lost
    billed = rows(db, "SELECT doc_key, COUNT(*) FROM usage WHERE outcome = 'billed' "
                      "GROUP BY doc_key, page_index")
    assert len(billed) == len(TAGS) and {count for _, count in billed} == {1}
    unknown = rows(db, "SELECT COUNT(*) FROM usage WHERE outcome = 'unknown'")[0][0]
    assert unknown == recorded_first - billed_first  # in flight at the kill: may be billed
    for tag in TAGS:
        assert page_texts(tmp_path / "out", f"{tag}.png") == echoed([tag])
