"""Limits and retries around the raw client: QPS, calls in flight, backoff, the ledger hook.

One `LimitedClient.recognize()` call runs attempts until one succeeds or the policy
gives up. Each attempt: take a concurrency slot, take a rate token, take a turn at the
shared service when a `gate` is given (`pipeline.fair_share`), tell the hook
(`started`, BEFORE anything is sent), send, tell the hook how it ended (`finished`,
shielded from cancellation), release the slot. Between attempts it sleeps with full
jitter, at least as long as the service's `Retry-After`.

Which errors are retried (the declared policy):

    RetryableOcrError (429, 5xx, timeouts, dropped/refused connections)  up to `attempts`
    PageOcrError with a code in `retry_once_codes` (AIS.0105)            once
    everything else (PageOcrError, OcrConfigError, OcrAuthError)          never

Adaptive rate (AIMD, as TCP does with its window): a throttling answer (429,
APIG.0308, ModelArts.4401) multiplies the rate by `AimdPolicy.decrease`, down to a
floor; every success adds back a little, `recovery` x the configured QPS per second's
worth of successes; the rate never goes above the configured QPS. A burst of 429s
for calls that were all in flight together counts as one signal: only a throttle
for a call sent after the last decrease lowers the rate again.

Testing switch: pass `sleep=` and `clock=` (a fake clock that the fake sleep advances)
and `RetryPolicy(jitter=0)` for exact, instant, deterministic delays.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol

from aiolimiter import AsyncLimiter

from pipeline.errors import (
    CallNotSent,
    OcrError,
    OutcomeUnknown,
    PageOcrError,
    RetryableOcrError,
)
from pipeline.models import AttemptOutcome, OcrRequest, OcrResult
from pipeline.ocr.bound import AdjustableBound
from pipeline.ocr.client import Answer
from pipeline.ocr.errors_map import ConnectFailed, EndpointUnreachable
from pipeline.protocol.codes import RETRY_ONCE_CODES, THROTTLE_CODES

logger = logging.getLogger(__name__)

BURST_SECONDS = 0.1
"""Default limiter bucket: 0.1 s worth of calls, and never under 2 (see LimitedClient)."""


class AttemptHook(Protocol):
    """What the ledger implements to record every attempt (DESIGN.md invariant 2)."""

    async def started(self, request: OcrRequest, attempt: int) -> object:
        """Called before the request is sent; returns a token (e.g. the ledger row id).

        `attempt` counts from 1 per `recognize()` call; the bytes sent are
        `request.body_size` (the Base64 image; the JSON around it adds a few dozen)."""
        ...

    async def finished(
        self,
        token: object,
        *,
        outcome: AttemptOutcome,
        http_status: int | None,
        error_code: str | None,
        request_id: str | None,
        latency_ms: float,
    ) -> None:
        """Called once per started attempt, shielded from cancellation."""
        ...


class Sender(Protocol):
    """The part of `OcrClient` the policy uses (a fake can stand in for tests)."""

    endpoint: str

    def encode(self, request: OcrRequest) -> bytes: ...

    async def send(self, request: OcrRequest, body: bytes) -> Answer: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, a total time cap, and `Retry-After` honoured.

    `total_timeout` counts from the first send (time queued for a slot before that is not
    counted); `jitter` 1.0 is full jitter (uniform in [0, cap]), 0 is no jitter.
    """

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    total_timeout: float = 300.0
    jitter: float = 1.0
    retry_once_codes: frozenset[str] = field(default=RETRY_ONCE_CODES)

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy needs attempts >= 1 and non-negative delays")
        if self.total_timeout <= 0 or not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy needs total_timeout > 0 and 0 <= jitter <= 1")

    def retries(self, error: OcrError, attempt: int, *, once_used: bool) -> bool:
        """Whether to try again after `attempt` (1-based) ended in `error`."""
        if attempt >= self.attempts:
            return False
        if isinstance(error, RetryableOcrError):
            return True
        once = isinstance(error, PageOcrError) and error.code in self.retry_once_codes
        return once and not once_used

    def delay(self, attempt: int, retry_after: float | None, rand: float) -> float:
        """Pause after failed `attempt`; `rand` in [0, 1) draws the jitter."""
        cap = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return max(cap * (1.0 - self.jitter * rand), retry_after or 0.0)


DEFAULT_RETRY = RetryPolicy()


def is_throttle(error: OcrError) -> bool:
    """The service asks us to slow down: 429, or one of its throttling codes."""
    return error.status == 429 or error.code in THROTTLE_CODES


@dataclass(frozen=True)
class AimdPolicy:
    """Additive increase, multiplicative decrease of the call rate.

    `decrease`: the rate is multiplied by it on a throttling answer; `floor`: the lowest
    rate, as a fraction of the configured QPS; `recovery`: the rate regained per second
    of successful calls, as a fraction of the configured QPS (0.05: from half the
    configured rate back to all of it in about 10 s of successes).
    """

    decrease: float = 0.5
    floor: float = 0.1
    recovery: float = 0.05

    def __post_init__(self) -> None:
        if not (0 < self.decrease < 1 and 0 < self.floor <= 1 and self.recovery > 0):
            raise ValueError("AimdPolicy needs 0 < decrease < 1, 0 < floor <= 1, recovery > 0")


DEFAULT_AIMD = AimdPolicy()


class AdaptiveRate:
    """The AIMD state: `rate` between `floor x ceiling` and `ceiling` (the configured QPS).

    Each attempt takes a ticket (`sent()`) when it goes out; `throttled(ticket)` lowers
    the rate unless that attempt was already in flight at the last decrease; it and
    `succeeded()` say whether the rate changed. Pure bookkeeping: no clock, no loop.
    """

    def __init__(self, ceiling: float, policy: AimdPolicy = DEFAULT_AIMD) -> None:
        self.ceiling = ceiling
        self.rate = ceiling
        self.policy = policy
        self._sent = 0
        self._last_decrease = 0
        """The last ticket handed out when the rate was last lowered."""

    @property
    def floor(self) -> float:
        return self.ceiling * self.policy.floor

    def sent(self) -> int:
        self._sent += 1
        return self._sent

    def throttled(self, ticket: int) -> bool:
        if ticket <= self._last_decrease:
            return False  # sent before the last decrease: the same congestion signal
        self._last_decrease = self._sent
        lowered = max(self.floor, self.rate * self.policy.decrease)
        changed, self.rate = lowered != self.rate, lowered
        return changed

    def rescale(self, ceiling: float) -> None:
        """A new ceiling (a fleet-wide share changed): the rate keeps its fraction of it,
        so a throttled process stays throttled in proportion."""
        fraction = self.rate / self.ceiling
        self.ceiling = ceiling
        self.rate = min(ceiling, max(self.floor, ceiling * fraction))

    def succeeded(self) -> bool:
        if self.rate >= self.ceiling:
            return False
        # at `rate` calls per second, this adds `recovery x ceiling` per second
        step = self.policy.recovery * self.ceiling / self.rate
        self.rate = min(self.ceiling, self.rate + step)
        return True


class AdjustableLimiter(AsyncLimiter):
    """`AsyncLimiter` whose drain rate can change while tasks wait for it.

    aiolimiter 1.x drains `_rate_per_sec`, computed once in `__init__`; `set_rate` first
    drains the bucket at the old rate up to now, then switches the rate and reschedules
    the waker of the first waiting task (tested in tests/integration/ocr/test_policy.py, so a change
    of those internals shows up there).
    """

    __slots__ = ()

    def set_rate(self, qps: float) -> None:
        self._leak()
        self._rate_per_sec = qps
        self.time_period = self.max_rate / qps
        self._wake_next()

    @property
    def rate(self) -> float:
        """Calls per second the bucket drains now."""
        return self._rate_per_sec


class LimitedClient:
    """`OcrClient` behind a rate limit, a concurrency limit and the retry policy.

    The rate limit is an `AsyncLimiter(burst, burst / qps)`: a leaky bucket that drains
    at exactly `qps` and holds `burst` calls. A bucket of 1 loses every bit of event-loop
    lateness (measured: 25-83 % of the target rate under load); from 2 up, lateness is
    made up later and the sustained rate stays >= 0.98 of `qps`. The default burst is
    0.1 s worth of calls, at least 2. With `aimd` (the default) the drain rate adapts
    to throttling (see the module docstring); `aimd=None` keeps it fixed at `qps`.
    `current_qps` is the rate in force now. Once `stopping` is set, a call (or retry)
    that gets its slot is not sent: `CallNotSent` (calls already sent finish). `gate`,
    when given, is entered after the slot and the token and held while the call is sent
    (a turn at a service other jobs share: `FairDispatcher.turn`).
    """

    def __init__(
        self,
        client: Sender,
        *,
        qps: float,
        concurrency: int,
        retry: RetryPolicy = DEFAULT_RETRY,
        on_attempt: AttemptHook | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        burst: float | None = None,
        rand: Callable[[], float] = random.random,
        aimd: AimdPolicy | None = DEFAULT_AIMD,
        stopping: asyncio.Event | None = None,
        gate: Callable[[], AbstractAsyncContextManager[object]] | None = None,
    ) -> None:
        if qps <= 0 or concurrency < 1:
            raise ValueError("LimitedClient needs qps > 0 and concurrency >= 1")
        capacity = burst if burst is not None else max(2.0, math.ceil(qps * BURST_SECONDS))
        self.client = client
        self.retry = retry
        self.limiter = AdjustableLimiter(capacity, capacity / qps)
        self.adaptive = AdaptiveRate(qps, aimd) if aimd is not None else None
        self.slots = AdjustableBound(concurrency)
        self._hook = on_attempt
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._stopping = stopping
        self._gate = gate or nullcontext

    async def recognize(self, request: OcrRequest) -> OcrResult:
        """Recognise one page; raises the last error when the policy gives up."""
        body = self.client.encode(request)
        deadline: float | None = None
        once_used = False
        only_connect_failures = True
        attempt = 0
        while True:
            attempt += 1
            ticket = 0
            try:
                async with self.slots:
                    await self.limiter.acquire()
                    self._not_if_stopping(request)
                    async with self._gate():
                        self._not_if_stopping(request)  # it may have waited its turn
                        ticket = self.adaptive.sent() if self.adaptive is not None else 0
                        if deadline is None:
                            deadline = self._clock() + self.retry.total_timeout
                        remaining = deadline - self._clock()
                        answer = await self._attempt(request, body, attempt, remaining)
                self._adapt(None, ticket)
                return answer.result
            except OcrError as error:
                self._adapt(error, ticket)
                only_connect_failures = only_connect_failures and isinstance(error, ConnectFailed)
                pause = self.retry.delay(attempt, error.retry_after, self._rand())
                if not self.retry.retries(error, attempt, once_used=once_used) or (
                    deadline is not None and self._clock() + pause >= deadline
                ):
                    failure = self._give_up(error, attempt, only_connect_failures)
                    if failure is error:
                        raise
                    raise failure from error
                once_used = once_used or isinstance(error, PageOcrError)
                logger.info(
                    "OCR %s page %d of %s: attempt %d failed (%s); retrying in %.2f s",
                    request.api, request.page_index, request.doc_key, attempt, error, pause,
                )
                await self._sleep(pause)

    def _not_if_stopping(self, request: OcrRequest) -> None:
        if self._stopping is not None and self._stopping.is_set():
            raise CallNotSent(
                f"page {request.page_index + 1} of {request.doc_key} not sent: the job is "
                "stopping"
            )

    def _adapt(self, error: OcrError | None, ticket: int) -> None:
        """AIMD: a success (`error` None) raises the rate a little, a throttle halves it."""
        if self.adaptive is None:
            return
        if error is None:
            if self.adaptive.succeeded():
                self.limiter.set_rate(self.adaptive.rate)
        elif is_throttle(error) and self.adaptive.throttled(ticket):
            self.limiter.set_rate(self.adaptive.rate)
            logger.warning(
                "OCR service throttling (%s): rate lowered to %.3g calls/s (configured %.3g)",
                error.code or error.status, self.adaptive.rate, self.adaptive.ceiling,
            )

    def set_share(self, qps: float, concurrency: int) -> None:
        """This process's part of the job's fleet-wide qps and concurrency
        (pipeline/fleet/share.py); AIMD goes on within it."""
        if qps <= 0 or concurrency < 1:
            raise ValueError("a share needs qps > 0 and concurrency >= 1")
        if self.adaptive is not None:
            self.adaptive.rescale(qps)
            qps = self.adaptive.rate
        self.limiter.set_rate(qps)
        self.slots.set_limit(concurrency)

    @property
    def current_qps(self) -> float:
        """The rate in force now: the configured QPS unless throttling lowered it."""
        return self.limiter.rate

    async def _attempt(
        self,
        request: OcrRequest,
        body: bytes,
        attempt: int,
        remaining: float,
    ) -> Answer:
        if remaining <= 0:  # waiting for a slot after the last pause used up the time
            raise RetryableOcrError(
                f"no time left for another attempt within {self.retry.total_timeout:g} s"
            )
        token = await self._hook.started(request, attempt) if self._hook is not None else None
        sent_at = time.monotonic()
        try:
            async with asyncio.timeout(remaining) as scope:
                answer = await self.client.send(request, body)
        except OcrError as error:
            await self._finished(token, sent_at, _outcome(error), error.status, error.code,
                                 error.request_id)
            raise
        except TimeoutError:
            await self._finished(token, sent_at, "unknown", None, None, None)
            if not scope.expired():
                raise
            raise OutcomeUnknown(
                f"no answer from the OCR endpoint {self.client.endpoint} before the "
                f"{self.retry.total_timeout:g} s limit for this page: it may have been billed"
            ) from None
        except BaseException:  # cancelled, or a bug: the request may have gone out
            await self._finished(token, sent_at, "unknown", None, None, None)
            raise
        await self._finished(token, sent_at, "billed", answer.status, None,
                             answer.result.request_id or None)
        return answer

    async def _finished(
        self,
        token: object,
        sent_at: float,
        outcome: AttemptOutcome,
        status: int | None,
        code: str | None,
        request_id: str | None,
    ) -> None:
        if self._hook is None:
            return
        await asyncio.shield(
            self._hook.finished(
                token,
                outcome=outcome,
                http_status=status,
                error_code=code,
                request_id=request_id,
                latency_ms=(time.monotonic() - sent_at) * 1000.0,
            )
        )

    def _give_up(self, error: OcrError, attempts: int, only_connect: bool) -> OcrError:
        if not isinstance(error, RetryableOcrError):
            return error
        message = error.args[0] if error.args else str(error)
        if only_connect and isinstance(error, ConnectFailed):
            return EndpointUnreachable(
                f"cannot reach the OCR endpoint {self.client.endpoint} "
                f"({attempts} attempts): {message}. Check the endpoint URL, that the "
                "service is running, and the network",
            )
        return type(error)(
            f"gave up after {attempts} attempts: {message}",
            code=error.code,
            status=error.status,
            request_id=error.request_id,
            retry_after=error.retry_after,
        )


def _outcome(error: OcrError) -> AttemptOutcome:
    """billed: the service answered 2xx; unknown: sent, no answer; failed: otherwise."""
    if error.status is not None and 200 <= error.status < 300:
        return "billed"
    if isinstance(error, OutcomeUnknown):
        return "unknown"
    return "failed"
