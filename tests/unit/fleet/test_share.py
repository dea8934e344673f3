"""A job's qps and concurrency divided among the live processes that hold it
(pipeline/fleet/share.py), applied to real `LimitedClient`s: the limiter's drain rate,
the bound on calls in flight, and AIMD within the share."""

from __future__ import annotations

import pytest

from pipeline.errors import RetryableOcrError
from pipeline.fleet.share import FleetShares, divide
from pipeline.models import OcrRequest
from pipeline.ocr.client import Answer
from pipeline.ocr.policy import LimitedClient
from pipeline.ocr.shares import current_share_keeper


class NeverSends:
    """A sender these tests never reach: only the limits are looked at."""

    endpoint = "http://127.0.0.1:9"

    def encode(self, request: OcrRequest) -> bytes:
        raise AssertionError("not sent in these tests")

    async def send(self, request: OcrRequest, body: bytes) -> Answer:
        raise AssertionError("not sent in these tests")


def client(qps: float = 30.0, concurrency: int = 8) -> LimitedClient:
    return LimitedClient(NeverSends(), qps=qps, concurrency=concurrency)


def test_divide_gives_each_process_its_part_rounding_concurrency_up() -> None:
    assert divide(30.0, 8, 3) == divide(30.0, 8, 3)
    share = divide(30.0, 8, 3)
    assert (share.qps, share.concurrency, share.workers) == (10.0, 3, 3)
    assert divide(30.0, 8, 1).qps == 30.0 and divide(30.0, 8, 1).concurrency == 8
    assert divide(30.0, 2, 4).concurrency == 1  # never below one call in flight
    assert divide(30.0, 8, 0).workers == 1  # this process always counts


async def test_three_workers_then_one_leaves_the_shares_grow() -> None:
    shares = FleetShares()
    mine = client()
    shares.attach("p/job", mine, 30.0, 8)
    assert mine.current_qps == 30.0 and mine.slots.limit == 8  # alone: all of it
    shares.update({"p/job": 2, "p/other": 5})  # two more processes hold this job
    assert mine.current_qps == pytest.approx(10.0) and mine.slots.limit == 3
    shares.update({"p/job": 1})  # one of them stopped
    assert mine.current_qps == pytest.approx(15.0) and mine.slots.limit == 4
    shares.update({})  # alone again
    assert mine.current_qps == pytest.approx(30.0) and mine.slots.limit == 8


async def test_a_client_attached_later_starts_at_the_current_share_detached_stays() -> None:
    shares = FleetShares()
    shares.update({"p/job": 1})
    first, second = client(), client(qps=12.0, concurrency=3)
    shares.attach("p/job", first, 30.0, 8)
    shares.attach("p/job", second, 12.0, 3)
    assert first.current_qps == pytest.approx(15.0) and second.current_qps == pytest.approx(6.0)
    assert second.slots.limit == 2
    shares.detach("p/job", first)
    shares.update({})
    assert first.current_qps == pytest.approx(15.0)  # detached: no longer resized
    assert second.current_qps == pytest.approx(12.0)


async def test_aimd_works_within_the_share_and_keeps_its_fraction_when_it_changes() -> None:
    mine = client(qps=40.0)
    shares = FleetShares()
    shares.attach("p/job", mine, 40.0, 8)
    shares.update({"p/job": 1})  # 20 calls/s here
    assert mine.adaptive is not None
    ticket = mine.adaptive.sent()
    mine._adapt(RetryableOcrError("throttled", status=429), ticket)  # one 429
    assert mine.current_qps == pytest.approx(10.0)  # halved within the share of 20
    shares.update({})  # the other process left: the ceiling is 40, still half of it
    assert mine.current_qps == pytest.approx(20.0) and mine.adaptive.ceiling == 40.0
    for _ in range(2000):  # successes climb back, never above the share
        mine._adapt(None, 0)
    assert mine.current_qps == pytest.approx(40.0)


async def test_use_makes_it_the_keeper_runs_started_here_attach_to() -> None:
    shares = FleetShares()
    shares.use()
    assert current_share_keeper() is shares
