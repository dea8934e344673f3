"""Billing alerts raised at the end of a run: once per crossing, logged, and POSTed to
the billing file's alert_webhook signed like the job webhooks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from pipeline.config import parse_job
from pipeline.runner import run_job
from pipeline.testing import FakeOcrServer, make_page
from pipeline.webhook_signature import sign
from tests.support.billing import budget, package, write_billing
from tests.support.jobs import image_job

SECRET = "alert-secret-for-tests"


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[bytes, str]]]]:
    got: list[tuple[bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        got.append((await request.read(), request.headers.get("X-Ocrpipe-Signature", "")))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/alerts", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/alerts", got
    await runner.cleanup()


async def test_alerts_once_per_crossing_signed(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch,
    receiver: tuple[str, list[tuple[bytes, str]]], caplog: pytest.LogCaptureFixture,
) -> None:
    url, got = receiver
    write_billing(tmp_path, package("p", 4, alert_percent=[50]),
                  budget("default", month_calls=100), alert_webhook=url)
    monkeypatch.delenv("OCRPIPE_BILLING", raising=False)
    monkeypatch.setenv("OCRPIPE_WEBHOOK_SECRET", SECRET)
    spec = parse_job(image_job(tmp_path, server, monkeypatch, name="alerts", documents=2))
    await run_job(spec)  # 2 of 4 calls: 50 % left, the threshold is crossed
    assert len(got) == 1
    body, signature = got[0]
    assert signature == sign(body, SECRET)
    alert = json.loads(body)["alert"]
    assert (alert["kind"], alert["subject"], alert["threshold"]) == ("package_remaining", "p", 50)
    assert "billing alert: package_remaining p crossed 50" in caplog.text

    for n in range(2, 4):  # two more pages: no new crossing, nothing sent again
        make_page(f"doc{n}", (320, 160)).save(tmp_path / "in" / f"doc{n}.png")
    await run_job(spec)
    assert len(got) == 1
