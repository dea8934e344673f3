"""The dashboard in a real headless browser (Debian's chromium, driven by Playwright):
`ocrpipe up` in a subprocess against the testing kit's FakeOcrServer; the page asks for
a token, a job submitted over the API shows its progress live up to 100 %, its failed
document, the usage chart, the package's remaining quota and the alert. A screenshot is
saved in the test's folder, and in $OCRPIPE_ARTEFACTS when set."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

import aiohttp
import pytest

from pipeline.testing import FakeOcrServer, Reply
from tests.e2e.test_up import Up, call, create_token, environment, job
from tests.support.billing import billing_toml, package
from tests.support.jobs import FAKE_AK, FAKE_SK

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: install Debian's "
                       "chromium package (apt-get install -y chromium) to test the dashboard"),
]

BILLING = billing_toml(
    package("finance-pack", 10, project="finance", alert_percent=[50], created="2020-01-01"),
    timezone="UTC",
)


async def test_dashboard_shows_a_job_reach_100_percent(tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    env = environment(tmp_path)
    (tmp_path / "billing.toml").write_text(BILLING)  # beside state.db
    token = create_token(env, "finance")
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}, default=Reply.ok(delay=0.4)
                             ) as server, aiohttp.ClientSession() as session, \
            playwright_api.async_playwright() as pw:
        up = Up(tmp_path, env)
        base = await up.start()
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            await page.goto(base + "/")
            await page.fill("#token", token)
            await page.click("#login button[type=submit]")
            await page.wait_for_selector("#board", state="visible")
            assert token not in page.url
            assert await page.evaluate("sessionStorage.getItem('ocrpipe.token')") == token

            body = job(tmp_path, server, "scans", 6)
            (Path(body["source"]["url"]) / "broken.png").write_bytes(b"not an image")
            status, view = await call(session, "POST", f"{base}/v1/jobs", token, body)
            assert status == 201, view
            cell = f"tr[data-job='{view['id']}'] .pct"
            seen: list[str] = []
            async with asyncio.timeout(120):
                while not seen or seen[-1] != "100 %":
                    shown = await page.locator(cell).all_inner_texts()
                    if shown and (not seen or seen[-1] != shown[0]):
                        seen.append(shown[0])
                    await asyncio.sleep(0.1)
            assert len(seen) >= 2 and seen[0] != "100 %", seen  # it moved while we watched

            await page.click(f"tr[data-job='{view['id']}']")
            await page.wait_for_selector("#failed tbody td:has-text('broken.png')")
            await page.reload()  # the token stays in the tab: no new login
            await page.wait_for_selector("#usage-chart canvas", timeout=20_000)
            await page.wait_for_selector("#packages td:has-text('finance-pack')")
            remaining = await page.locator("#packages tbody tr td").nth(3).inner_text()
            assert remaining == "4"  # 6 pages billed of 10
            await page.wait_for_selector("#alerts li:has-text('finance-pack')")
            await page.click(f"tr[data-job='{view['id']}']")
            await page.wait_for_selector("#failed tbody td:has-text('broken.png')")
            shot = tmp_path / "dashboard.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            if artefacts := os.environ.get("OCRPIPE_ARTEFACTS"):
                Path(artefacts).mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, Path(artefacts) / "dashboard.png")
        finally:
            await browser.close()
            if up.proc is not None and up.proc.returncode is None:
                up.proc.send_signal(signal.SIGTERM)
                await up.proc.wait()
