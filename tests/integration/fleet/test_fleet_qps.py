"""Fleet-wide qps against the fake OCR server: two members on one PostgreSQL database
(each with its own store, as two processes would) hold one job with qps 20 and keep
calling as fast as their limits let them. The server counts arrivals: together they
send about 20 calls/s, not 40; once one stops, the other alone sends about 20.

Rates on a shared machine are noisy; the bounds leave room for that while still telling
a divided rate (20) from an undivided one (40) and from a share that did not grow (10).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp

from pipeline.fleet.heartbeat import FleetMember
from pipeline.fleet.registry import WorkerRegistry
from pipeline.fleet.share import FleetShares
from pipeline.models import OcrRequest
from pipeline.ocr.client import OcrClient
from pipeline.ocr.credentials import Credentials
from pipeline.ocr.policy import LimitedClient
from pipeline.store import open_store
from pipeline.testing import FakeOcrServer, Reply
from tests.support.jobs import FAKE_AK, FAKE_SK

QPS, CONCURRENCY, JOB = 20.0, 8, "p/job"
WINDOW = 3.0
REQUEST = OcrRequest(doc_key="doc.pdf", page_index=0, image_b64="aGVsbG8=", width=1, height=1)


async def keep_calling(client: LimitedClient, stop: asyncio.Event) -> None:
    async def one_lane() -> None:
        while not stop.is_set():
            await client.recognize(REQUEST)

    async with asyncio.TaskGroup() as tg:
        for _ in range(CONCURRENCY):
            tg.create_task(one_lane())


def rate(server: FakeOcrServer, start: float, end: float) -> float:
    return sum(start <= call.received_at < end for call in server.calls) / (end - start)


async def test_two_members_on_one_job_send_the_jobs_qps_together(postgres_url: str) -> None:
    stores = [await open_store(postgres_url) for _ in range(2)]
    stops = [asyncio.Event(), asyncio.Event()]
    async with (FakeOcrServer(default=Reply.echo(delay=0.01)) as server,
                aiohttp.ClientSession() as session):
        members, clients = [], []
        for store in stores:
            shares = FleetShares()
            member = FleetMember(WorkerRegistry(store), "worker", CONCURRENCY,
                                 lambda: [JOB], shares, every=0.5)
            await member.__aenter__()
            members.append(member)
            ocr = OcrClient(session, endpoint=server.url, project_id=server.project_id,
                            credentials=Credentials(FAKE_AK, FAKE_SK), timeout=5.0)
            client = LimitedClient(ocr, qps=QPS, concurrency=CONCURRENCY)
            shares.attach(JOB, client, QPS, CONCURRENCY)
            clients.append(client)
        try:
            for member in members:
                await member.beat()  # both know of each other before the first call
            assert [c.current_qps for c in clients] == [QPS / 2, QPS / 2]
            loads = [asyncio.create_task(keep_calling(c, s)) for c, s in zip(clients, stops,
                                                                              strict=True)]
            await asyncio.sleep(1.0)  # past the first burst
            start = time.monotonic()
            await asyncio.sleep(WINDOW)
            together = rate(server, start, time.monotonic())

            stops[1].set()  # the second stops cleanly: its row goes
            await loads[1]
            await members[1].__aexit__(None, None, None)
            await asyncio.sleep(1.5)  # the first one's heartbeats see it gone
            assert clients[0].current_qps == QPS
            start = time.monotonic()
            await asyncio.sleep(WINDOW)
            alone = rate(server, start, time.monotonic())
            stops[0].set()
            await loads[0]
        finally:
            for stop in stops:
                stop.set()
            for member in members:
                with contextlib.suppress(Exception):
                    await member.__aexit__(None, None, None)
            for store in stores:
                await store.close()
    assert 0.6 * QPS <= together <= 1.25 * QPS, together  # undivided it would be ~2 x QPS
    assert 0.75 * QPS <= alone <= 1.25 * QPS, alone  # the share grew back to all of it
