"""The listing of a job's source (issue 17): once, in batches, resumed from its stored
continuation after a crash; and claimers woken by NOTIFY rather than their poll."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pipeline.config import DEFAULT_INCLUDE, S3Options, job_from_data
from pipeline.fleet.listing import Listing, list_into
from pipeline.fleet.notify import WorkSignal
from pipeline.intake import documents
from pipeline.models import SourceObject
from pipeline.storage import LocalStorage, S3Storage, open_storage
from pipeline.storage.resume import list_after
from pipeline.store import open_store
from pipeline.store.work_items import WorkItems
from tests.support.s3server import MotoS3

FILES = 250


class ListerDied(Exception):
    pass


def source(tmp: Path) -> Path:
    inputs = tmp / "in"
    inputs.mkdir()
    for n in range(FILES):
        (inputs / f"doc{n:04}.png").write_bytes(b"x")
    return inputs


async def dying_after(objects: AsyncIterator[SourceObject], n: int
                      ) -> AsyncIterator[SourceObject]:
    async for obj in objects:
        if n == 0:
            raise ListerDied
        n -= 1
        yield obj


async def counted(objects: AsyncIterator[SourceObject], seen: list[str]
                  ) -> AsyncIterator[SourceObject]:
    async for obj in objects:
        seen.append(obj.key)
        yield obj


async def test_a_listing_resumes_from_its_continuation(store_url: str, tmp_path: Path) -> None:
    spec = job_from_data({"name": "j", "source": {"url": str(source(tmp_path))},
                          "output": {"url": str(tmp_path / "out")},
                          "ocr": {"endpoint": "http://127.0.0.1:9"}},
                         origin="test", base_dir=tmp_path)
    storage = LocalStorage(str(tmp_path / "in"))
    store = await open_store(store_url)
    try:
        first = Listing(store, "job_a", "first", lease=0.5)
        state = await first.take()
        assert state is not None and state.last_key is None
        with pytest.raises(ListerDied):  # a crash after 2 batches and a half
            await list_into(first, dying_after(documents(spec, storage, []), 250 - 50))
        items = WorkItems(store)
        assert await items.counts("job_a") == {"queued": 200}  # others started meanwhile
        second = Listing(store, "job_a", "second", lease=30)
        assert await second.take() is None  # the first one's lease has not run out yet
        await asyncio.sleep(0.6)
        resumed = await second.take()
        assert resumed is not None and resumed.last_key == "doc0199.png"
        assert resumed.listed == 200 and not resumed.finished
        seen: list[str] = []
        after = documents(spec, storage, [], after=resumed.last_key)
        assert await list_into(second, counted(after, seen)) == 50
        assert seen == [f"doc{n:04}.png" for n in range(200, FILES)]  # not from the start
        assert await items.counts("job_a") == {"queued": FILES}
        done = await second.state()
        assert done is not None and done.finished and done.listed == FILES
        assert await Listing(store, "job_a", "third", lease=30).take() is None  # once
    finally:
        await store.close()


async def test_a_resumed_listing_whose_key_is_gone_lists_again_without_doubles(
    store_url: str, tmp_path: Path
) -> None:
    inputs = source(tmp_path)
    spec = job_from_data({"name": "j", "source": {"url": str(inputs)},
                          "output": {"url": str(tmp_path / "out")},
                          "ocr": {"endpoint": "http://127.0.0.1:9"}},
                         origin="test", base_dir=tmp_path)
    storage = LocalStorage(str(inputs))
    store = await open_store(store_url)
    try:
        first = Listing(store, "job_a", "first", lease=30)
        await first.take()
        with pytest.raises(ListerDied):
            await list_into(first, dying_after(documents(spec, storage, []), 120))
        (inputs / "doc0099.png").unlink()  # the stored continuation's key
        await first.give_back()  # (as a clean stop does: no lease to wait for)
        second = Listing(store, "job_a", "second", lease=30)
        resumed = await second.take()
        assert resumed is not None and resumed.last_key == "doc0099.png"
        after = documents(spec, storage, [], after=resumed.last_key)
        assert await list_into(second, after) == FILES - 100
        assert await WorkItems(store).counts("job_a") == {"queued": FILES}
    finally:
        await store.close()


async def test_notify_wakes_a_waiting_claimer_before_its_poll(postgres_url: str) -> None:
    store = await open_store(postgres_url)
    other = await open_store(postgres_url)  # the lister: another process's connections
    poll = 20.0
    try:
        async with WorkSignal(store.engine.url, poll) as signal:
            assert signal.listening
            items = WorkItems(store)
            assert await items.claim("job_a", "w", limit=5, lease=60) == []
            started = time.monotonic()
            waiting = asyncio.create_task(signal.wait())
            await asyncio.sleep(0.2)
            assert not waiting.done()
            await WorkItems(other).add("job_a", [SourceObject("a.png", "/in/a.png", 1)])
            assert await waiting is True
            woke_after = time.monotonic() - started
            assert woke_after < poll / 2, woke_after
            assert signal.woken >= 1
            assert len(await items.claim("job_a", "w", limit=5, lease=60)) == 1
    finally:
        await store.close()
        await other.close()


async def test_on_sqlite_the_wait_is_the_poll(tmp_path: Path) -> None:
    store = await open_store(str(tmp_path / "state.db"))
    try:
        async with WorkSignal(store.engine.url, 0.05) as signal:
            assert not signal.listening
            assert await signal.wait() is False
    finally:
        await store.close()


async def test_an_s3_listing_resumes_after_its_key_on_the_server(s3: MotoS3) -> None:
    """`StartAfter`: the bucket lists only what follows the stored key (a million-object
    bucket is not listed from the start again)."""
    await s3.create_bucket("inbox")
    await s3.put("inbox", {f"scans/doc{n:03}.png": b"x" for n in range(30)}
                 | {"other/doc000.png": b"x"})
    async with open_storage("s3://inbox/scans", S3Options(
            endpoint_url=s3.endpoint_url, addressing_style="path")) as storage:
        assert isinstance(storage, S3Storage)
        server_side = [o.key async for o in storage.list(DEFAULT_INCLUDE,
                                                         start_after="doc019.png")]
        resumed = [o.key async for o in list_after(storage, DEFAULT_INCLUDE, (),
                                                   "doc019.png")]
    assert server_side == resumed == [f"doc{n:03}.png" for n in range(20, 30)]
