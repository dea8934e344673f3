"""A job shared by workers in one process (issue 17): its owner lists it and a helper
joins; a large PDF is split into page ranges; every page is sent once, every output is
written; a clean stop gives the work back and the next run sends only what was left."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from pipeline.config import JobSpec, job_from_data
from pipeline.errors import JobInterrupted
from pipeline.fleet.held import HELD
from pipeline.fleet.job_run import FleetSettings, ItemRun
from pipeline.fleet.listing import Listing
from pipeline.store import JobQueue, JobRecord, open_store
from pipeline.store.work_items import WorkItems
from pipeline.testing import Call, FakeOcrServer, Reply
from tests.e2e.test_up import wait_until
from tests.support.fleet import answered, fleet_job, tagged_inputs
from tests.support.jobs import FAKE_AK, FAKE_SK

SETTINGS = FleetSettings(lease=5, poll=0.3, split_above=20, range_size=20)


def _env(db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    monkeypatch.setenv("OCRPIPE_DB", db)
    return db


@pytest.fixture
def env(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """SQLite and PostgreSQL."""
    return _env(store_url, monkeypatch)


@pytest.fixture
def pg_env(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """PostgreSQL: where several workers share a job (on SQLite one process runs it)."""
    return _env(postgres_url, monkeypatch)


async def claimed_job(db: str, data: dict[str, object]) -> JobRecord:
    store = await open_store(db)
    try:
        queue = JobQueue(store)
        await queue.submit(name=str(data["name"]), enterprise_project="finance", spec=data)
        job = await queue.claim("owner", lease=60)
        assert job is not None
        return job
    finally:
        await store.close()


def spec_of(job: JobRecord, base: Path) -> JobSpec:
    spec = job_from_data(job.spec, origin="test", base_dir=base)
    return spec.model_copy(update={"name": job.run_key})


async def test_an_owner_and_a_helper_share_a_job(pg_env: str, tmp_path: Path) -> None:
    env = pg_env
    expected = tagged_inputs(tmp_path / "in", images=30, pdfs=1, pdf_pages=45)
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK},
                             default=Reply.echo(delay=0.02)) as server:
        job = await claimed_job(env, fleet_job(tmp_path / "in", tmp_path / "out", server, "s"))
        spec = spec_of(job, tmp_path)
        owner = ItemRun(spec, job.id, "owner", SETTINGS, asyncio.Event(), owner=True)
        helper = ItemRun(spec, job.id, "helper", SETTINGS, asyncio.Event(), owner=False)
        owning = asyncio.create_task(owner.run())
        store = await open_store(env)
        try:
            async def listed() -> bool:
                return await Listing(store, job.id, "test", 1).state() is not None
            await wait_until(listed, "the listing to start")
            assert spec.name in HELD.snapshot()
            helped, owned = await asyncio.gather(helper.run(), owning)
            assert await WorkItems(store).counts(job.id) == {}  # forgotten: the job is done
            record = await JobQueue(store).get(job.id)
            assert record is not None and record.documents_listed == 31  # for the ETA
        finally:
            await store.close()
    assert answered(server) == expected  # every page once, whoever sent it
    assert server.call_count == sum(expected.values())
    assert helped.pages_sent > 0 and owned.pages_sent > 0
    assert owned.pages_sent == sum(expected.values())  # the job's summary: every worker's
    assert helped.pages_sent < owned.pages_sent
    assert owned.documents_done == 31 and owned.documents_failed == 0
    pdf_text = (tmp_path / "out" / "pdf00.pdf.txt").read_text()
    pages = [int(n) for n in re.findall(r"page d0p(\d+)", pdf_text)]
    assert pages == list(range(45))  # the ranges' pages, in the document's order
    assert len(list((tmp_path / "out").glob("img*.txt"))) == 30
    assert spec.name not in HELD.snapshot()


async def test_a_clean_stop_gives_the_work_back_and_the_rest_is_sent_once(
    env: str, tmp_path: Path
) -> None:
    expected = tagged_inputs(tmp_path / "in", images=20, pdfs=1, pdf_pages=30)
    stopping = asyncio.Event()

    def stop_midway(call: Call) -> None:
        if len(server.calls) >= 15:
            stopping.set()

    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}, default=Reply.echo(delay=0.05),
                             on_request=stop_midway) as server:
        job = await claimed_job(env, fleet_job(tmp_path / "in", tmp_path / "out", server, "s"))
        spec = spec_of(job, tmp_path)
        with pytest.raises(JobInterrupted):
            await ItemRun(spec, job.id, "first", SETTINGS, stopping, owner=True).run()
        store = await open_store(env)
        try:
            counts = await WorkItems(store).counts(job.id)
            assert "claimed" not in counts and counts.get("queued")  # given back
            listing = await Listing(store, job.id, "test", 1).state()
            assert listing is not None
            sent_first = sum(answered(server).values())
            assert 15 <= sent_first < sum(expected.values())
            server.on_request = None
            again = await ItemRun(spec, job.id, "second", SETTINGS, asyncio.Event(),
                                  owner=True).run()
        finally:
            await store.close()
    assert answered(server) == expected  # nothing sent twice
    assert again.pages_sent == sum(expected.values()) - sent_first
    assert len(list((tmp_path / "out").glob("*.txt"))) == 21


async def test_a_dead_workers_items_are_taken_over_once_its_leases_run_out(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run stops without giving anything back (the fault: its release fails,
    as a killed process gives nothing back); the second waits for the leases to run out,
    takes the items over, and sends only the pages the first had not finished."""
    expected = tagged_inputs(tmp_path / "in", images=12, pdfs=1, pdf_pages=25)
    stopping = asyncio.Event()
    short = FleetSettings(lease=1.5, poll=0.2, split_above=20, range_size=20)

    def stop_midway(call: Call) -> None:
        if len(server.calls) >= 20:  # the PDF (listed last) has begun
            stopping.set()

    async def gives_nothing_back(self: WorkItems, holder: str, ids: object = None) -> int:
        raise ConnectionResetError("the worker process was killed")

    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}, default=Reply.echo(delay=0.05),
                             on_request=stop_midway) as server:
        job = await claimed_job(env, fleet_job(tmp_path / "in", tmp_path / "out", server, "s"))
        spec = spec_of(job, tmp_path)
        with monkeypatch.context() as patch:
            patch.setattr(WorkItems, "release", gives_nothing_back)
            with pytest.raises(JobInterrupted):
                await ItemRun(spec, job.id, "dead", short, stopping, owner=True).run()
        store = await open_store(env)
        try:
            assert (await WorkItems(store).counts(job.id)).get("claimed")  # still the dead's
        finally:
            await store.close()
        sent_first = sum(answered(server).values())
        server.on_request = None
        started = asyncio.get_running_loop().time()
        again = await ItemRun(spec, job.id, "second", short, asyncio.Event(), owner=True).run()
        waited = asyncio.get_running_loop().time() - started
    assert answered(server) == expected  # the finished pages were not sent again
    assert again.pages_sent == sum(expected.values()) - sent_first
    assert waited >= 1.0  # it had to wait for the dead worker's leases
    assert len(list((tmp_path / "out").glob("*.txt"))) == 13
