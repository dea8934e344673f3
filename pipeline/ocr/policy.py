"""Limits and retries around the raw client: QPS, calls in flight, backoff, the ledger hook.

One `LimitedClient.recognize()` call runs attempts until one succeeds or the policy
gives up. Each attempt: take a concurrency slot, take a rate token, tell the hook
(`started`, BEFORE anything is sent), send, tell the hook how it ended (`finished`,
shielded from cancellation), release the slot. Between attempts it sleeps with full
jitter, at least as long as the service's `Retry-After`.

Which errors are retried (the declared policy):

    RetryableOcrError (429, 5xx, timeouts, dropped/refused connections)  up to `attempts`
    PageOcrError with a code in `retry_once_codes` (AIS.0105)            once
    everything else (PageOcrError, OcrConfigError, OcrAuthError)          never

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
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from aiolimiter import AsyncLimiter

from pipeline.errors import OcrError, OutcomeUnknown, PageOcrError, RetryableOcrError
from pipeline.models import OcrRequest, OcrResult
from pipeline.ocr.client import Answer
from pipeline.ocr.errors_map import ConnectFailed, EndpointUnreachable

logger = logging.getLogger(__name__)

AttemptOutcome = Literal["billed", "failed", "unknown"]
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

    async def send(
        self, request: OcrRequest, body: bytes, *, width: int, height: int
    ) -> Answer: ...


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
    retry_once_codes: frozenset[str] = field(default=frozenset({"AIS.0105"}))

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


class LimitedClient:
    """`OcrClient` behind a rate limit, a concurrency limit and the retry policy.

    The rate limit is an `AsyncLimiter(burst, burst / qps)`: a leaky bucket that drains
    at exactly `qps` and holds `burst` calls. A bucket of 1 loses every bit of event-loop
    lateness (measured: 25-83 % of the target rate under load); from 2 up, lateness is
    made up later and the sustained rate stays >= 0.98 of `qps`. The default burst is
    0.1 s worth of calls, at least 2.
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
    ) -> None:
        if qps <= 0 or concurrency < 1:
            raise ValueError("LimitedClient needs qps > 0 and concurrency >= 1")
        capacity = burst if burst is not None else max(2.0, math.ceil(qps * BURST_SECONDS))
        self.client = client
        self.retry = retry
        self.limiter = AsyncLimiter(capacity, capacity / qps)
        self.semaphore = asyncio.Semaphore(concurrency)
        self._hook = on_attempt
        self._sleep = sleep
        self._clock = clock
        self._rand = rand

    async def recognize(self, request: OcrRequest, **kw: Any) -> OcrResult:
        """Recognise one page; raises the last error when the policy gives up.

        Keyword arguments (both required): `width`, `height`, the pixel size of the image
        sent, passed on to `OcrClient.send` (the coordinate system of the boxes).
        """
        try:
            width, height = int(kw.pop("width")), int(kw.pop("height"))
        except KeyError as missing:
            raise TypeError(f"recognize() needs the keyword argument {missing}") from None
        if kw:
            raise TypeError(f"recognize() got unexpected keyword arguments {sorted(kw)}")
        body = self.client.encode(request)
        deadline: float | None = None
        once_used = False
        only_connect_failures = True
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self.semaphore:
                    await self.limiter.acquire()
                    if deadline is None:
                        deadline = self._clock() + self.retry.total_timeout
                    remaining = deadline - self._clock()
                    answer = await self._attempt(request, body, attempt, width, height, remaining)
                return answer.result
            except OcrError as error:
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

    async def _attempt(
        self,
        request: OcrRequest,
        body: bytes,
        attempt: int,
        width: int,
        height: int,
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
                answer = await self.client.send(request, body, width=width, height=height)
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
