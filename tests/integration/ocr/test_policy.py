"""The retry policy, the limits and the attempt hook: `LimitedClient` over the real
`OcrClient` and the fake server, with a fake clock for pauses and a virtual loop clock
for the rate limiter."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from pipeline.errors import (
    CallNotSent,
    OcrAuthError,
    OcrConfigError,
    OcrError,
    OutcomeUnknown,
    PageOcrError,
    RetryableOcrError,
)
from pipeline.models import Block, OcrRequest, OcrResult
from pipeline.ocr.client import Answer, OcrClient
from pipeline.ocr.credentials import Credentials
from pipeline.ocr.errors_map import ConnectFailed, EndpointUnreachable
from pipeline.ocr.policy import AdaptiveRate, AimdPolicy, LimitedClient, RetryPolicy
from pipeline.testing import Call, FakeOcrServer, Reply, free_port
from tests.support.jobs import FAKE_AK, FAKE_SK

AK, SK = FAKE_AK, FAKE_SK
REQUEST = OcrRequest(
    doc_key="doc.pdf", page_index=3, image_b64="aGVsbG8=", width=1, height=1
)
NO_JITTER = RetryPolicy(jitter=0.0)


class FakeTime:
    """The testing switch: `sleep` records the pause and moves `clock` on, instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class Recorder:
    """An AttemptHook that keeps rows like a ledger would, and a shared event log."""

    def __init__(self, events: list[tuple[str, int]] | None = None) -> None:
        self.rows: list[dict[str, Any]] = []
        self.events = events if events is not None else []

    async def started(self, request: OcrRequest, attempt: int) -> object:
        self.rows.append({"attempt": attempt, "page": request.page_index, "outcome": "pending"})
        self.events.append(("started", attempt))
        await asyncio.sleep(0)
        return len(self.rows) - 1

    async def finished(self, token: object, **fields: Any) -> None:
        assert isinstance(token, int)
        self.rows[token].update(fields)

    @property
    def outcomes(self) -> list[str]:
        return [row["outcome"] for row in self.rows]


def limited(
    session: aiohttp.ClientSession,
    endpoint: str,
    *,
    hook: Recorder | None = None,
    fake: FakeTime | None = None,
    retry: RetryPolicy = NO_JITTER,
    timeout: float = 2.0,
    concurrency: int = 4,
    stopping: asyncio.Event | None = None,
) -> LimitedClient:
    client = OcrClient(session, endpoint=endpoint, project_id="p" * 32,
                       credentials=Credentials(AK, SK), timeout=timeout)
    fake = fake or FakeTime()
    return LimitedClient(client, qps=1000, concurrency=concurrency, retry=retry,
                         on_attempt=hook, sleep=fake.sleep, clock=fake.clock,
                         stopping=stopping)


# --- the declared policy, as pure functions ------------------------------------------


def test_backoff_is_exponential_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, jitter=0.0)
    assert [policy.delay(n, None, 0.7) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.delay(1, 3.0, 0.0) == 3.0  # Retry-After larger: it wins
    assert policy.delay(4, 1.0, 0.0) == 4.0  # backoff larger: it wins
    full = RetryPolicy(base_delay=0.5, max_delay=4.0, jitter=1.0)
    assert full.delay(3, None, 0.0) == 2.0 and full.delay(3, None, 0.75) == 0.5


def test_which_errors_are_retried() -> None:
    policy = RetryPolicy(attempts=3)
    assert policy.retries(RetryableOcrError("x"), 1, once_used=False)
    assert not policy.retries(RetryableOcrError("x"), 3, once_used=False)
    assert not policy.retries(PageOcrError("x", code="AIS.0103"), 1, once_used=False)
    assert policy.retries(PageOcrError("x", code="AIS.0105"), 1, once_used=False)
    assert not policy.retries(PageOcrError("x", code="AIS.0105"), 2, once_used=True)
    assert not policy.retries(OcrAuthError("x"), 1, once_used=False)
    assert not policy.retries(OcrConfigError("x"), 1, once_used=False)
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


# --- retries against the fake server ---------------------------------------------------


@pytest.mark.parametrize(("retry_after", "pause"), [(None, 0.5), (3, 3.0)])
async def test_429_then_success(
    server: FakeOcrServer, session: aiohttp.ClientSession, retry_after: int | None, pause: float
) -> None:
    server.script(Reply.error(429, "APIG.0308", retry_after=retry_after), Reply.ok())
    hook, fake = Recorder(), FakeTime()
    client = limited(session, server.url, hook=hook, fake=fake)
    result = await client.recognize(replace(REQUEST, width=10, height=20))
    assert result.blocks[0].text == "Invoice No. 4711"
    assert server.call_count == 2 and fake.pauses == [pause]
    assert hook.outcomes == ["failed", "billed"]
    assert hook.rows[0]["http_status"] == 429 and hook.rows[0]["error_code"] == "APIG.0308"
    assert hook.rows[1]["http_status"] == 200 and len(hook.rows[1]["request_id"]) == 32
    assert [(row["attempt"], row["page"]) for row in hook.rows] == [(1, 3), (2, 3)]
    assert all(row["latency_ms"] >= 0 for row in hook.rows)


@pytest.mark.parametrize(
    "reply",
    [Reply.error(500, "ModelArts.4501"), Reply.error(502, "APIG.0201"),
     Reply.error(504, "APIG.0201"), Reply.raw(503, b"<html>busy</html>", "text/html")],
)
async def test_server_errors_are_retried(
    server: FakeOcrServer, session: aiohttp.ClientSession, reply: Reply
) -> None:
    server.script(reply, reply, Reply.ok())
    hook = Recorder()
    await limited(session, server.url, hook=hook).recognize(REQUEST)
    assert server.call_count == 3
    assert hook.outcomes == ["failed", "failed", "billed"]


@pytest.mark.parametrize(
    ("reply", "error"),
    [(Reply.error(400, "AIS.0103"), PageOcrError), (Reply.error(401, "APIG.0301"), OcrAuthError),
     (Reply.error(404, "APIG.0101"), OcrConfigError)],
)
async def test_no_retry_for_page_auth_and_config_errors(
    server: FakeOcrServer, session: aiohttp.ClientSession, reply: Reply, error: type[OcrError]
) -> None:
    server.script(reply, Reply.ok())
    hook, fake = Recorder(), FakeTime()
    with pytest.raises(error):
        await limited(session, server.url, hook=hook, fake=fake).recognize(REQUEST)
    assert server.call_count == 1 and fake.pauses == []
    assert hook.outcomes == ["failed"]


async def test_recognition_failed_is_retried_once(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    failed = Reply.error(400, "AIS.0105")
    server.script(failed, Reply.ok(), failed, failed, Reply.ok())
    client = limited(session, server.url)
    await client.recognize(REQUEST)
    assert server.call_count == 2
    with pytest.raises(PageOcrError, match="rejected this page"):
        await client.recognize(REQUEST)
    assert server.call_count == 4


async def test_gives_up_after_the_attempts(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(*[Reply.error(500, "ModelArts.4501")] * 6)
    fake = FakeTime()
    with pytest.raises(RetryableOcrError, match="gave up after 6 attempts") as caught:
        await limited(session, server.url, fake=fake).recognize(REQUEST)
    assert caught.value.code == "ModelArts.4501" and caught.value.status == 500
    assert server.call_count == 6 and fake.pauses == [0.5, 1.0, 2.0, 4.0, 8.0]


async def test_total_timeout_stops_a_wait_that_would_pass_it(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(Reply.error(429, "APIG.0308", retry_after=600))
    fake = FakeTime()
    with pytest.raises(RetryableOcrError, match="gave up after 1 attempts"):
        await limited(session, server.url, fake=fake).recognize(REQUEST)
    assert server.call_count == 1 and fake.pauses == []


async def test_total_timeout_cuts_a_hanging_call_short(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(Reply.hang())
    hook = Recorder()
    retry = RetryPolicy(total_timeout=0.5, jitter=0.0)
    client = limited(session, server.url, hook=hook, retry=retry, timeout=30.0)
    with pytest.raises(OutcomeUnknown, match=r"gave up after 1 attempts.*may have been billed"):
        await client.recognize(REQUEST)
    assert hook.outcomes == ["unknown"] and server.call_count == 1


async def test_timeout_is_recorded_unknown_then_retried(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(Reply.hang(), Reply.ok())
    hook = Recorder()
    client = limited(session, server.url, hook=hook, timeout=0.5)
    result = await client.recognize(REQUEST)
    assert result.blocks and server.call_count == 2
    assert hook.outcomes == ["unknown", "billed"]
    assert hook.rows[0]["http_status"] is None


async def test_dropped_connection_is_recorded_unknown(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(Reply.drop(), Reply.cut(), Reply.ok())
    hook = Recorder()
    await limited(session, server.url, hook=hook).recognize(REQUEST)
    # dropped before any answer: unknown; cut off after "200": billed, and retried
    assert hook.outcomes == ["unknown", "billed", "billed"]
    assert hook.rows[1]["http_status"] == 200


async def test_connection_refused_is_failed_and_names_the_endpoint(
    session: aiohttp.ClientSession,
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    hook = Recorder()
    retry = RetryPolicy(attempts=3, jitter=0.0)
    with pytest.raises(EndpointUnreachable) as caught:
        await limited(session, endpoint, hook=hook, retry=retry).recognize(REQUEST)
    assert endpoint in str(caught.value) and "3 attempts" in str(caught.value)
    assert isinstance(caught.value.__cause__, ConnectFailed)
    assert hook.outcomes == ["failed"] * 3  # nothing was sent: never "unknown"


async def test_cancelled_call_is_recorded_unknown(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(Reply.hang())
    arrived = asyncio.Event()
    server.on_request = lambda call: arrived.set()
    hook = Recorder()
    task = asyncio.create_task(
        limited(session, server.url, hook=hook).recognize(REQUEST))
    await arrived.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert hook.outcomes == ["unknown"]


async def test_hook_records_before_the_server_sees_the_request(
    session: aiohttp.ClientSession,
) -> None:
    events: list[tuple[str, int]] = []

    def arrived(call: Call) -> None:
        events.append(("server", call.index + 1))

    async with FakeOcrServer(credentials={AK: SK}, on_request=arrived) as server:
        server.script(Reply.error(503, "ModelArts.4503"))
        hook = Recorder(events)
        await limited(session, server.url, hook=hook).recognize(REQUEST)
    assert events == [("started", 1), ("server", 1), ("started", 2), ("server", 2)]


async def test_semaphore_bounds_calls_in_flight(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.default = Reply.ok(delay=0.05)
    client = limited(session, server.url, concurrency=3)
    async with asyncio.TaskGroup() as tg:
        for i in range(12):
            tg.create_task(client.recognize(REQUEST), name=f"page-{i}")
    assert server.call_count == 12
    assert server.max_in_flight == 3


async def test_stopping_lets_the_call_in_flight_finish_and_sends_no_waiting_page(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.default = Reply.ok(delay=0.2)
    arrived = asyncio.Event()
    server.on_request = lambda call: arrived.set()
    stopping = asyncio.Event()
    hook = Recorder()
    client = limited(session, server.url, hook=hook, concurrency=1, stopping=stopping)
    calls = [asyncio.create_task(client.recognize(REQUEST))
             for _ in range(4)]
    await arrived.wait()
    stopping.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[0], OcrResult)
    assert all(isinstance(r, CallNotSent) for r in results[1:]), results
    assert "not sent: the job is stopping" in str(results[1])
    assert server.call_count == 1
    assert hook.outcomes == ["billed"]


# --- the rate limiter on a virtual loop clock ------------------------------------------


@contextlib.contextmanager
def virtual_time(loop: asyncio.AbstractEventLoop, lateness: float = 0.0) -> Iterator[None]:
    """Make the loop's clock jump to the next timer instead of waiting for it.

    Each turn of the loop also moves the clock by 1 us, as real time would: aiolimiter
    can schedule a wake-up a few ulps ahead, which a frozen clock would never reach.
    `lateness`: every timer fires that much late, like a busy event loop.
    """
    now = [loop.time()]
    selector: Any = getattr(loop, "_selector")  # noqa: B009 - a private seam, tests only
    real_select = selector.select

    def select(timeout: float | None = None) -> Any:
        events = real_select(0)
        now[0] += timeout + lateness if not events and timeout else 1e-6
        return events

    loop.time = lambda: now[0]  # type: ignore[method-assign]
    selector.select = select
    try:
        yield
    finally:
        del loop.time
        selector.select = real_select


class InstantSender:
    """A `Sender` that answers at once and notes the (virtual) time of each call."""

    endpoint = "http://fake"

    def __init__(self) -> None:
        self.times: list[float] = []

    def encode(self, request: OcrRequest) -> bytes:
        return request.image_b64.encode()

    async def send(self, request: OcrRequest, body: bytes) -> Answer:
        self.times.append(asyncio.get_running_loop().time())
        block = Block("x", ((0, 0), (1, 0), (1, 1), (0, 1)), 1.0)
        return Answer(OcrResult((block,), request.width, request.height), 200)


@pytest.mark.parametrize(("qps", "calls"), [(5.0, 100), (40.0, 400), (0.5, 12)])
async def test_limiter_sustains_the_configured_rate(qps: float, calls: int) -> None:
    sender = InstantSender()
    client = LimitedClient(sender, qps=qps, concurrency=64)
    with virtual_time(asyncio.get_running_loop()):
        async with asyncio.TaskGroup() as tg:
            for _ in range(calls):
                tg.create_task(client.recognize(REQUEST))
    burst = int(client.limiter.max_rate)
    start = sender.times[0]
    assert sum(1 for t in sender.times if t == start) == burst  # the only burst
    rate = (calls - burst) / (sender.times[-1] - start)
    assert rate == pytest.approx(qps, rel=0.01)
    # no window of one second ever holds more than qps + burst calls
    assert max(
        sum(1 for t in sender.times if s <= t < s + 1.0) for s in sender.times
    ) <= qps + burst


@pytest.mark.parametrize(("burst", "low", "high"), [(None, 0.98, 1.01), (1.0, 0.0, 0.95)])
async def test_a_bucket_of_two_or_more_absorbs_a_late_event_loop(
    burst: float | None, low: float, high: float
) -> None:
    qps = 40.0
    sender = InstantSender()
    client = LimitedClient(sender, qps=qps, concurrency=64, burst=burst)
    with virtual_time(asyncio.get_running_loop(), lateness=0.002):  # 8 % of a period
        async with asyncio.TaskGroup() as tg:
            for _ in range(200):
                tg.create_task(client.recognize(REQUEST))
    rate = (len(sender.times) - client.limiter.max_rate) / (sender.times[-1] - sender.times[0])
    assert low * qps <= rate <= high * qps


# --- adaptive rate (AIMD) ----------------------------------------------------------------


def throttled(code: str = "APIG.0308") -> RetryableOcrError:
    return RetryableOcrError("throttled", code=code, status=429)


class ScriptedSender(InstantSender):
    """An `InstantSender` that raises the scripted errors first; with `hold`, the first
    `hold` calls all wait until the last of them arrives: they are in flight together."""

    def __init__(self, *errors: OcrError, hold: int = 0) -> None:
        super().__init__()
        self.errors = list(errors)
        self.hold = hold
        self.arrived = 0
        self.all_in = asyncio.Event()

    async def send(self, request: OcrRequest, body: bytes) -> Answer:
        self.arrived += 1
        if self.arrived == self.hold:
            self.all_in.set()
        if self.arrived <= self.hold:
            await self.all_in.wait()
        if self.errors:
            self.times.append(asyncio.get_running_loop().time())
            raise self.errors.pop(0)
        return await super().send(request, body)


def test_aimd_halves_on_throttle_down_to_the_floor_and_climbs_back_to_the_ceiling() -> None:
    rate = AdaptiveRate(10.0, AimdPolicy(decrease=0.5, floor=0.1, recovery=0.05))
    changes = [(rate.throttled(rate.sent()), rate.rate) for _ in range(5)]
    assert changes == [(True, 5.0), (True, 2.5), (True, 1.25), (True, 1.0), (False, 1.0)]
    # each success adds 0.5 / rate: 0.5 calls/s per second's worth of successes
    assert rate.succeeded() and rate.rate == pytest.approx(1.5)
    assert rate.succeeded() and rate.rate == pytest.approx(1.5 + 0.5 / 1.5)
    for _ in range(1000):
        rate.succeeded()
    assert rate.rate == 10.0 and not rate.succeeded()  # the ceiling holds


def test_aimd_counts_throttles_of_calls_in_flight_together_once() -> None:
    rate = AdaptiveRate(8.0)
    tickets = [rate.sent() for _ in range(6)]  # six calls in flight
    assert [rate.throttled(t) for t in tickets] == [True] + [False] * 5
    assert rate.rate == 4.0
    assert rate.throttled(rate.sent()) and rate.rate == 2.0  # sent after: a new signal
    with pytest.raises(ValueError):
        AimdPolicy(decrease=1.0)


async def test_a_429_storm_lowers_the_limiter_rate_and_successes_restore_it() -> None:
    qps = 10.0
    storm = [throttled(), throttled("ModelArts.4401"), throttled()]
    sender = ScriptedSender(*storm)
    fake = FakeTime()
    client = LimitedClient(sender, qps=qps, concurrency=1, retry=NO_JITTER,
                           sleep=fake.sleep, clock=fake.clock, burst=1.0)
    with virtual_time(asyncio.get_running_loop()):
        await client.recognize(REQUEST)  # three 429s, then success
        assert client.current_qps == pytest.approx(1.25 + 0.5 / 1.25)
        sender.times.clear()
        for _ in range(6):
            await client.recognize(REQUEST)
        # the limiter really spaces calls at the lowered rate, and less as it climbs
        gaps = [b - a for a, b in itertools.pairwise(sender.times)]
        rate = 1.65 + 0.5 / 1.65  # after the first of the six successes
        assert gaps[0] == pytest.approx(1 / rate, rel=0.01)
        assert gaps == sorted(gaps, reverse=True) and gaps[-1] > 0.3
        for _ in range(200):
            await client.recognize(REQUEST)
        assert client.current_qps == qps  # climbed back, and no higher
        sender.times.clear()
        for _ in range(21):
            await client.recognize(REQUEST)
        assert sender.times[-1] - sender.times[0] == pytest.approx(2.0, rel=0.01)


async def test_a_storm_of_calls_in_flight_together_lowers_the_rate_once() -> None:
    sender = ScriptedSender(*[throttled()] * 8, hold=8)
    fake = FakeTime()
    client = LimitedClient(sender, qps=40.0, concurrency=8, retry=NO_JITTER,
                           sleep=fake.sleep, clock=fake.clock, burst=8.0)
    with virtual_time(asyncio.get_running_loop()):
        async with asyncio.TaskGroup() as tg:
            for _ in range(8):
                tg.create_task(client.recognize(REQUEST))
    assert sender.arrived == 16
    # one halving (20/s), then 8 successes bring back 0.05 x 40 / rate each
    assert 20.0 < client.current_qps < 21.0


@pytest.mark.parametrize(
    "error", [RetryableOcrError("busy", code="ModelArts.4503", status=503),
              OutcomeUnknown("no answer")],
)
async def test_other_retryable_errors_leave_the_rate_alone(error: OcrError) -> None:
    client = LimitedClient(ScriptedSender(error), qps=5.0, concurrency=1, retry=NO_JITTER,
                           sleep=FakeTime().sleep)
    await client.recognize(REQUEST)
    assert client.current_qps == 5.0


async def test_aimd_off_keeps_the_configured_rate() -> None:
    client = LimitedClient(ScriptedSender(throttled()), qps=5.0, concurrency=1,
                           retry=NO_JITTER, sleep=FakeTime().sleep, aimd=None)
    await client.recognize(REQUEST)
    assert client.current_qps == 5.0 and client.adaptive is None
