"""`ocrpipe bench`'s sweep against the testing kit's fake: the climb stops at a 429
storm and the sustained rate is the one below it; a URL target signs with the job's
credentials."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from pipeline.bench.samples import load_requests
from pipeline.bench.sweep import Plan, run_sweep
from pipeline.bench.targets import FakeSettings, may_bill, open_target
from pipeline.models import OcrRequest
from pipeline.ocr.client import OcrClient
from pipeline.ocr.credentials import Credentials
from pipeline.testing import FakeOcrServer, Reply, make_page
from tests.support.jobs import FAKE_AK, FAKE_SK


def sample_requests(tmp_path: Path, count: int = 4) -> list[OcrRequest]:
    folder = tmp_path / "samples"
    folder.mkdir()
    for n in range(count):
        make_page(f"bench{n}", (320, 160)).save(folder / f"p{n}.png")
    return load_requests(folder, api="general-text", max_pages=100)


@pytest.mark.slow
async def test_the_climb_stops_at_a_429_storm_and_reports_the_rate_below_it(
    tmp_path: Path,
) -> None:
    requests = sample_requests(tmp_path)
    plan = Plan(concurrency=(16,), qps=(15, 30, 90, 180), seconds=1.5, min_calls=10)
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}, default=Reply.ok(delay=0.02),
                             throttle_above=45, keep_bodies=False) as server:
        async with aiohttp.ClientSession() as session:
            client = OcrClient(session, endpoint=server.url, project_id=server.project_id,
                               credentials=Credentials(FAKE_AK, FAKE_SK))
            result = await run_sweep(client, requests, plan)

    assert [s.qps for s in result.steps] == [15, 30, 90]  # 180 never tried
    below, storm = result.steps[1], result.steps[2]
    assert result.stopped_by_429 is storm and storm.sustained_429
    assert not below.sustained_429 and below.throttled == 0 and below.errors == 0
    best = result.sustained(plan.max_errors)
    assert best is below
    assert 0.8 * 30 <= best.pages_per_s <= 1.15 * 30
    # what the sweep counted is what the server saw, call for call
    assert server.call_count == sum(s.calls for s in result.steps) == 23 + 45 + 135
    assert server.throttled == sum(s.throttled for s in result.steps) == storm.throttled
    assert storm.ok + storm.throttled == storm.calls
    # the quota, not the sweep, capped the storm step: about 45 accepted per second
    assert storm.pages_per_s <= 45 * 1.2
    assert server.unsigned == 0


async def test_a_url_target_signs_with_the_jobs_credentials_and_records_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    requests = sample_requests(tmp_path, 2)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    plan = Plan(concurrency=(2,), qps=(50,), seconds=0.1, min_calls=6)
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}) as server:
        server.script(Reply.error(500, "ModelArts.4501"))
        assert not may_bill(server.url)
        async with open_target(server.url, project_id=None, enterprise_project=None,
                               fake=FakeSettings(), workers=None) as endpoint, \
                aiohttp.ClientSession() as session:
            client = OcrClient(session, endpoint=endpoint.url, project_id=endpoint.project_id,
                               credentials=endpoint.credentials)
            result = await run_sweep(client, requests, plan)
    (step,) = result.steps
    assert server.call_count == 6 and server.unsigned == 0
    assert (step.ok, step.errors, step.throttled) == (5, 1, 0)
    assert step.first_error is not None and "ModelArts.4501" in step.first_error
    assert step.p50_ms is not None and step.p50_ms <= (step.p99_ms or 0)
    # an echo of each tagged page came back: the samples were the pages sent
    assert set(server.echoed) == {"page bench0", "page bench1"}


def test_only_loopback_urls_are_free() -> None:
    assert not may_bill("fake") and not may_bill("embedded")
    assert not may_bill("http://127.0.0.1:8080") and not may_bill("http://localhost:8080")
    assert not may_bill("http://[::1]:8080")
    assert may_bill("https://ocr.cn-north-4.myhuaweicloud.com")
    assert may_bill("http://192.168.1.20:8080")
