"""`LimitedClient` with a gate (a turn at a service other jobs share, `FairDispatcher`):
the call is sent while the turn is held, after the job's own slot and rate token, and a
job that stops while its calls wait for their turn sends none of them."""

from __future__ import annotations

import asyncio

import aiohttp

from pipeline.errors import CallNotSent
from pipeline.fair_share import FairDispatcher
from pipeline.models import OcrResult
from pipeline.ocr.client import OcrClient
from pipeline.ocr.credentials import Credentials
from pipeline.ocr.policy import LimitedClient
from pipeline.testing import FakeOcrServer, Reply
from tests.integration.ocr.test_policy import AK, REQUEST, SK, Recorder
from tests.integration.test_job_worker import wait_until


def gated(session: aiohttp.ClientSession, server: FakeOcrServer, fair: FairDispatcher,
          job: str, *, hook: Recorder | None = None, stopping: asyncio.Event | None = None,
          concurrency: int = 4) -> LimitedClient:
    client = OcrClient(session, endpoint=server.url, project_id="p" * 32,
                       credentials=Credentials(AK, SK), timeout=5)
    return LimitedClient(client, qps=1000, concurrency=concurrency, on_attempt=hook,
                         stopping=stopping, gate=lambda: fair.turn("finance", job))


async def test_calls_are_sent_holding_a_turn(
        server: FakeOcrServer, session: aiohttp.ClientSession) -> None:
    server.default = Reply.ok(delay=0.05)
    fair = FairDispatcher(capacity=2)
    client = gated(session, server, fair, "a", concurrency=4)
    results = await asyncio.gather(*(client.recognize(REQUEST) for _ in range(8)))
    assert all(isinstance(r, OcrResult) for r in results)
    assert server.call_count == 8 and server.max_in_flight == 2  # the capacity, not 4
    assert fair.granted == 8 and fair.in_use == 0


async def test_a_stopping_job_sends_none_of_its_calls_waiting_for_a_turn(
        server: FakeOcrServer, session: aiohttp.ClientSession) -> None:
    fair = FairDispatcher(capacity=1)
    stopping = asyncio.Event()
    hook = Recorder()
    client = gated(session, server, fair, "a", hook=hook, stopping=stopping)
    release = asyncio.Event()

    async def other_job() -> None:
        async with fair.turn("legal", "b"):
            await release.wait()

    holder = asyncio.create_task(other_job())
    await asyncio.sleep(0)
    calls = [asyncio.create_task(client.recognize(REQUEST)) for _ in range(3)]

    async def all_waiting() -> bool:
        return sum(fair.waiting().get("finance", {}).values()) == 3

    await wait_until(all_waiting, "the three calls waiting for their turn")
    stopping.set()
    release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    await holder
    assert all(isinstance(r, CallNotSent) for r in results), results
    assert server.call_count == 0 and hook.outcomes == []
    assert fair.in_use == 0 and fair.waiting() == {}
