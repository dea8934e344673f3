"""`ocrpipe run` on PostgreSQL (issue 17): `OCRPIPE_DB=postgresql://...`, the CLI in
subprocesses against the fake OCR server. Two runs of one job at once: the second exits 2
naming the first and no page is sent twice; a run killed with SIGKILL holds nothing, and
the run after it sends only what the killed one had not finished."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.store import open_store
from pipeline.store.schema import usage
from pipeline.testing import FakeOcrServer, Reply
from tests.e2e.test_job_lease import DOCUMENTS, calls_reach, make_job
from tests.support.cli_run import environment, finish, ocrpipe_run, start
from tests.support.jobs import FAKE_AK, FAKE_SK


@pytest.fixture
async def slow_server() -> AsyncIterator[FakeOcrServer]:
    """Each answer takes 0.5 s, so a run lasts long enough to be met by another."""
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}, default=Reply.ok(delay=0.5)) as s:
        yield s


async def ledger(url: str) -> list[tuple[str, str]]:
    store = await open_store(url)
    try:
        async with store.engine.connect() as conn:
            rows = await conn.execute(select(usage.c.doc_key, usage.c.outcome))
            return [(row.doc_key, row.outcome) for row in rows]
    finally:
        await store.close()


async def billed_keys(url: str) -> set[str]:
    return {key for key, outcome in await ledger(url) if outcome == "billed"}


async def test_a_second_run_on_postgresql_exits_2_and_sends_nothing_twice(
    tmp_path: Path, slow_server: FakeOcrServer, postgres_url: str
) -> None:
    job = make_job(tmp_path, slow_server)
    env = {**environment(tmp_path), "OCRPIPE_DB": postgres_url}
    first = await start(job, env)
    await calls_reach(slow_server, 1)
    second = await ocrpipe_run(job, env)
    assert second.code == 2 and second.no_traceback(), second.out
    assert "already running" in second.out and f"process {first.pid} " in second.out
    done = await finish(first)
    assert done.code == 0, done.out
    assert slow_server.call_count == DOCUMENTS
    assert sorted(await ledger(postgres_url)) == [
        (f"doc{n}.png", "billed") for n in range(DOCUMENTS)
    ]
    assert all((tmp_path / "out" / f"doc{n}.png.txt").is_file() for n in range(DOCUMENTS))


async def test_a_killed_run_on_postgresql_holds_nothing_and_its_pages_are_kept(
    tmp_path: Path, slow_server: FakeOcrServer, postgres_url: str
) -> None:
    job = make_job(tmp_path, slow_server)
    env = {**environment(tmp_path), "OCRPIPE_DB": postgres_url}
    first = await start(job, env)
    for _ in range(2400):  # until the first page is saved (at most 120 s), then kill it
        if billed_before := await billed_keys(postgres_url):
            break
        await asyncio.sleep(0.05)
    first.kill()
    await first.wait()
    again = await ocrpipe_run(job, env)  # at once: its holder's process is gone
    assert again.code == 0 and again.no_traceback(), again.out
    # each page billed once: one the killed run had finished is not sent again, and at
    # most the one call in flight at the kill (concurrency 1) is sent a second time
    billed = Counter(key for key, outcome in await ledger(postgres_url) if outcome == "billed")
    assert billed == Counter(f"doc{n}.png" for n in range(DOCUMENTS))
    assert len(billed_before) < DOCUMENTS <= slow_server.call_count <= DOCUMENTS + 1
    assert all((tmp_path / "out" / f"doc{n}.png.txt").is_file() for n in range(DOCUMENTS))
