"""Limits and load, without OCR models: the engine's bounded queue (ModelArts.4401), the
request timeout (APIG.0201 504), /metrics, graceful shutdown; and the rate limiter, AK
lockout and token store on a fake clock.

A `SlowEngine` is the real `OcrEngine` (queue, accounting) over a thread pool whose work
sleeps: the seam the engine exposes for this (`_new_pool`, `_work`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import closing
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from pipeline.service.app import Limits, create_app
from pipeline.service.authfile import AuthConfig
from pipeline.service.engine import OcrEngine, PageText, RecognizeOptions
from pipeline.service.errors import ApiError
from pipeline.service.iam import KEEP_EXPIRED_S, TokenStore
from pipeline.service.limits import RateLimiter
from pipeline.service.lockout import BASE_DELAY_S, Lockout
from pipeline.service.statedb import open_state

BODY = {"image": "aGVsbG8="}


class SlowEngine(OcrEngine):
    def __init__(self, delay: float, queue_size: int) -> None:
        super().__init__(1, queue_size=queue_size)
        self.delay = delay
        self._work = self._sleep

    def _sleep(self, image: str | bytes, options: RecognizeOptions) -> PageText:
        time.sleep(self.delay)
        return PageText((), 100, 100, seconds=self.delay)

    def _new_pool(self) -> Executor:
        return ThreadPoolExecutor(1)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def start(engine: OcrEngine, limits: Limits | None = None) -> tuple[web.AppRunner, str]:
    app = create_app(engine, AuthConfig(), auth_required=False, limits=limits)
    runner = web.AppRunner(app, shutdown_timeout=10.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def post(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any], float]:
    started = time.perf_counter()
    async with session.post(f"{url}/v2/p/ocr/general-text", json=BODY) as response:
        return response.status, await response.json(), time.perf_counter() - started


async def test_a_full_queue_answers_4401_at_once(session: aiohttp.ClientSession) -> None:
    runner, url = await start(SlowEngine(delay=0.6, queue_size=1))
    try:
        answers = await asyncio.gather(*(post(session, url) for _ in range(4)))
    finally:
        await runner.cleanup()
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200, 200, 429, 429]
    for status, body, seconds in answers:
        if status == 429:
            assert body["error_code"] == "ModelArts.4401"
            assert "maximum concurrency" in body["error_msg"]
            assert seconds < 0.5  # refused, not queued


async def test_request_timeout_is_504_and_the_page_stays_counted_until_done(
    session: aiohttp.ClientSession,
) -> None:
    engine = SlowEngine(delay=0.8, queue_size=0)
    runner, url = await start(engine, Limits(request_timeout=0.2))
    try:
        status, body, seconds = await post(session, url)
        assert (status, body["error_code"]) == (504, "APIG.0201")
        assert body["request_id"] and seconds < 0.7
        # The worker is still busy with that page: the queue is full (size 0).
        status, body, _ = await post(session, url)
        assert (status, body["error_code"]) == (429, "ModelArts.4401")
        await asyncio.sleep(0.8)
        assert engine.depth == 0
    finally:
        await runner.cleanup()


async def test_metrics_count_requests_latency_queue_and_engine_time(
    session: aiohttp.ClientSession,
) -> None:
    runner, url = await start(SlowEngine(delay=0.05, queue_size=4))
    try:
        for _ in range(2):
            assert (await post(session, url))[0] == 200
        async with session.post(f"{url}/v2/p/ocr/general-text", data=b"{") as response:
            assert response.status == 400
        async with session.get(f"{url}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await response.text()
    finally:
        await runner.cleanup()
    assert 'ocrpipe_requests_total{api="general-text",code="200"} 2' in text
    assert 'ocrpipe_requests_total{api="general-text",code="ModelArts.4105"} 1' in text
    assert 'ocrpipe_request_seconds_count{api="general-text"} 3' in text
    assert 'ocrpipe_request_seconds_bucket{api="general-text",le="+Inf"} 3' in text
    assert "ocrpipe_queue_depth 0" in text
    engine_line = next(x for x in text.splitlines() if x.startswith("ocrpipe_engine_seconds"))
    assert float(engine_line.split()[-1]) == pytest.approx(0.1)


async def test_graceful_shutdown_lets_requests_in_flight_finish(
    session: aiohttp.ClientSession,
) -> None:
    runner, url = await start(SlowEngine(delay=0.5, queue_size=1))
    in_flight = asyncio.create_task(post(session, url))
    await asyncio.sleep(0.2)
    await runner.cleanup()
    status, _, _ = await in_flight
    assert status == 200


def test_rate_limit_per_caller_and_api_per_minute() -> None:
    clock = Clock(120.0)
    limiter = RateLimiter(2, clock)
    limiter.check("ak:A", "general-text")
    limiter.check("ak:A", "general-text")
    limiter.check("ak:A", "web-image")  # another API has its own count
    limiter.check("ak:B", "general-text")  # another caller too
    clock.now = 150.0
    with pytest.raises(ApiError) as caught:
        limiter.check("ak:A", "general-text")
    assert (caught.value.kind.code, caught.value.kind.status) == ("APIG.0308", 429)
    assert caught.value.message.endswith("policy user over ratelimit,limit:2,time:1 minute")
    assert caught.value.retry_after == pytest.approx(30.0)
    clock.now = 180.0  # the next minute
    limiter.check("ak:A", "general-text")
    RateLimiter(0, clock).check("ak:A", "general-text")  # 0: no limit


def test_lockout_backs_off_one_address_for_one_ak_with_a_doubling_delay() -> None:
    clock = Clock()
    lockout = Lockout(clock)
    for _ in range(4):
        lockout.failed("AK", "10.0.0.1")
    lockout.succeeded("AK", "10.0.0.1")  # a success resets the run
    for _ in range(4):
        lockout.failed("AK", "10.0.0.1")
    lockout.check("AK", "10.0.0.1")
    lockout.failed("AK", "10.0.0.1")
    with pytest.raises(ApiError, match="reach the limit") as caught:
        lockout.check("AK", "10.0.0.1")
    assert caught.value.retry_after == pytest.approx(BASE_DELAY_S)
    lockout.check("OTHER", "10.0.0.1")
    lockout.check("AK", "10.0.0.2")  # the owner, elsewhere, is not locked out
    clock.now += BASE_DELAY_S - 1
    with pytest.raises(ApiError):
        lockout.check("AK", "10.0.0.1")
    clock.now += 2
    lockout.check("AK", "10.0.0.1")
    lockout.failed("AK", "10.0.0.1")  # the next failure waits twice as long
    assert lockout.retry_after("AK", "10.0.0.1") == pytest.approx(2 * BASE_DELAY_S)


@pytest.fixture
def memory_db() -> Iterator[sqlite3.Connection]:
    with closing(open_state(None)) as db:
        yield db


def test_token_store_expiry_scope_and_project(memory_db: sqlite3.Connection) -> None:
    clock = Clock()
    store = TokenStore(ttl_seconds=60, db=memory_db, clock=clock)
    scoped, _ = store.issue("acme/alice", "p1", "cn-north-4")
    unscoped, _ = store.issue("acme/alice", None, None)
    assert store.check(scoped, "p1") == "acme/alice"

    def code(token: str, project: str = "p1") -> str:
        with pytest.raises(ApiError) as caught:
            store.check(token, project)
        return caught.value.kind.code

    assert code(unscoped) == "ModelArts.0212"
    assert code(scoped, "p2") == "APIG.0301"
    assert code("MIInot-a-token") == "APIG.0301"
    assert code("") == "ModelArts.4101"
    clock.now += 60
    assert code(scoped) == "APIG.0307"
    store.issue("acme/bob", "p1", "cn-north-4")
    assert code(scoped) == "APIG.0307"  # still known as expired: the client refreshes
    clock.now += KEEP_EXPIRED_S
    store.issue("acme/bob", "p1", "cn-north-4")  # forgets tokens expired long ago
    assert memory_db.execute("SELECT COUNT(*) FROM tokens").fetchone() == (2,)
    assert code(scoped) == "APIG.0301"
