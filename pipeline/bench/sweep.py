"""The sweep: a ladder of (concurrency, QPS) steps, each a burst of real calls.

For each concurrency (ascending), the QPS climbs its ladder. A step sends
`calls_for(qps)` calls (about `seconds` worth at that rate, at least `min_calls`),
cycling through the sample pages, through `LimitedClient` with the rate fixed (no AIMD)
and one attempt per call, so that every 429 is seen. Per step: pages/s achieved (pages
recognised over the time from the first send to the last answer), latency p50/p95/p99
of the successful calls, 429 rate, rate of other errors.

The climb stops:
- for the whole sweep, at the first step with *sustained* 429s: at least `max_429` of
  its calls throttled, and still throttled in its last third (not just a first burst);
- for one concurrency, at the first step that is *saturated*: it achieved under
  `SATURATED` of the rate it offered (more QPS would only queue behind the calls in flight).

The endpoint's sustained rate is the highest pages/s of a step with neither sustained
429s nor more than `max_errors` errors.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from pipeline.errors import OcrError
from pipeline.models import OcrRequest
from pipeline.ocr.client import Answer
from pipeline.ocr.policy import LimitedClient, RetryPolicy, Sender, is_throttle

SATURATED = 0.85
ONE_ATTEMPT = RetryPolicy(attempts=1, total_timeout=120.0)


@dataclass(frozen=True)
class Plan:
    concurrency: tuple[int, ...] = (1, 4, 16)
    qps: tuple[float, ...] = (1, 2, 5, 10, 20, 50, 100, 200)
    seconds: float = 5.0
    min_calls: int = 10
    max_429: float = 0.05
    max_errors: float = 0.05

    def __post_init__(self) -> None:
        if not self.concurrency or min(self.concurrency) < 1:
            raise ValueError("concurrency steps must be integers >= 1")
        if not self.qps or min(self.qps) <= 0:
            raise ValueError("QPS steps must be positive")
        if self.seconds <= 0 or self.min_calls < 1:
            raise ValueError("seconds per step must be positive and min calls >= 1")

    def calls_for(self, qps: float) -> int:
        return max(self.min_calls, math.ceil(qps * self.seconds))

    def steps(self) -> list[tuple[int, float]]:
        return [(c, q) for c in sorted(set(self.concurrency)) for q in sorted(set(self.qps))]

    @property
    def max_calls(self) -> int:
        """Calls the whole sweep sends at most (fewer when it stops climbing early)."""
        return sum(self.calls_for(q) for _, q in self.steps())


@dataclass
class StepResult:
    concurrency: int
    qps: float
    calls: int
    ok: int
    throttled: int
    errors: int
    seconds: float
    pages_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    rate_429: float
    error_rate: float
    sustained_429: bool
    saturated: bool
    first_error: str | None = None

    @property
    def clean(self) -> bool:
        return not self.sustained_429 and self.ok > 0


@dataclass
class SweepResult:
    steps: list[StepResult] = field(default_factory=list)
    stopped_by_429: StepResult | None = None

    def sustained(self, max_errors: float) -> StepResult | None:
        """The step with the highest pages/s without sustained 429s or too many errors."""
        good = [s for s in self.steps if s.clean and s.error_rate <= max_errors]
        return max(good, key=lambda s: s.pages_per_s, default=None)


@dataclass
class _Record:
    sent: float
    done: float
    ok: bool
    throttled: bool
    error: str | None


class TimedSender:
    """The client a step's `LimitedClient` sends through: times each call as it goes out
    and records how it ended."""

    def __init__(self, client: Sender) -> None:
        self._client = client
        self.endpoint = client.endpoint
        self.records: list[_Record] = []

    def encode(self, request: OcrRequest) -> bytes:
        return self._client.encode(request)

    async def send(self, request: OcrRequest, body: bytes) -> Answer:
        sent = time.monotonic()
        try:
            answer = await self._client.send(request, body)
        except OcrError as exc:
            self.records.append(_Record(sent, time.monotonic(), False, is_throttle(exc),
                                        None if is_throttle(exc) else str(exc)))
            raise
        self.records.append(_Record(sent, time.monotonic(), True, False, None))
        return answer


async def measure_step(
    client: Sender, requests: Sequence[OcrRequest], concurrency: int, qps: float,
    calls: int, plan: Plan,
) -> StepResult:
    timed = TimedSender(client)
    limited = LimitedClient(timed, qps=qps, concurrency=concurrency, retry=ONE_ATTEMPT,
                            aimd=None)

    async def one(index: int) -> None:
        try:
            await limited.recognize(requests[index % len(requests)])
        except OcrError:
            pass  # recorded by TimedSender

    await asyncio.gather(*(one(i) for i in range(calls)))
    return summarize(timed.records, concurrency, qps, plan)


def summarize(records: list[_Record], concurrency: int, qps: float, plan: Plan) -> StepResult:
    records = sorted(records, key=lambda r: r.sent)
    calls = len(records)
    ok = [r for r in records if r.ok]
    throttled = sum(r.throttled for r in records)
    errors = calls - len(ok) - throttled
    span = (max(r.done for r in records) - records[0].sent) if records else 0.0
    pages_per_s = len(ok) / span if span > 0 else 0.0
    latencies = sorted((r.done - r.sent) * 1000.0 for r in ok)
    tail = records[len(records) * 2 // 3:]
    rate_429 = throttled / calls if calls else 0.0
    return StepResult(
        concurrency=concurrency, qps=qps, calls=calls, ok=len(ok), throttled=throttled,
        errors=errors, seconds=span, pages_per_s=pages_per_s,
        p50_ms=percentile(latencies, 50), p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        rate_429=rate_429, error_rate=errors / calls if calls else 0.0,
        sustained_429=rate_429 >= plan.max_429 and any(r.throttled for r in tail),
        saturated=pages_per_s < SATURATED * qps,
        first_error=next((r.error for r in records if r.error), None),
    )


def percentile(sorted_values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


async def run_sweep(
    client: Sender, requests: Sequence[OcrRequest], plan: Plan,
    on_step: Callable[[StepResult], Awaitable[None] | None] | None = None,
) -> SweepResult:
    """Climb the plan's ladder (see the module docstring for where it stops)."""
    result = SweepResult()
    skip_concurrency: set[int] = set()
    for concurrency, qps in plan.steps():
        if concurrency in skip_concurrency:
            continue
        step = await measure_step(client, requests, concurrency, qps, plan.calls_for(qps), plan)
        result.steps.append(step)
        if on_step is not None:
            maybe = on_step(step)
            if maybe is not None:
                await maybe
        if step.sustained_429:
            result.stopped_by_429 = step
            break
        if step.saturated:
            skip_concurrency.add(concurrency)
    return result
