"""The benchmark harness (benchmarks/harness.py) at a tiny scale: inputs, the fake service,
one `ocrpipe run` measured end to end. Correctness only: no figure is asserted here
(those belong to `make bench`)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
import pikepdf
import pytest

from benchmarks.harness import (
    ANSWER_TEXT,
    BENCH_AK,
    BENCH_SK,
    PROJECT_ID,
    Kind,
    Scenario,
    TreeMemory,
    fake_service,
    make_images,
    make_pdf,
    memory_ratio,
    run_scenario,
    table,
)
from pipeline.models import OcrRequest
from pipeline.ocr.client import OcrClient
from pipeline.ocr.credentials import Credentials


def test_inputs_are_many_pages_in_little_space(tmp_path: Path) -> None:
    folder = make_images(tmp_path / "images", 250)
    pages = sorted(folder.rglob("*.png"))
    assert len(pages) == 250 and len({p.parent for p in pages}) == 3
    assert pages[0].stat().st_nlink == 250  # one file, hard-linked
    pdf = make_pdf(tmp_path / "book.pdf", 300)
    with pikepdf.open(pdf) as doc:
        assert len(doc.pages) == 300
        xobjects = doc.pages[0].Resources.XObject
        filters = {str(xobjects[name].Filter) for name in xobjects.keys()}
    assert "/DCTDecode" not in filters  # not JPEG: every page is rendered
    assert pdf.stat().st_size < 200_000


async def test_fake_service_answers_signed_calls_after_its_latency_and_counts_them() -> None:
    async with fake_service(latency=0.05) as service, aiohttp.ClientSession() as session:
        client = OcrClient(session, endpoint=service.url, project_id=PROJECT_ID,
                           credentials=Credentials(BENCH_AK, BENCH_SK))
        request = OcrRequest("doc.png", 0, "aGVsbG8=", 10, 10)
        body = client.encode(request)
        started = time.monotonic()
        answers = await asyncio.gather(*(client.send(request, body) for _ in range(5)))
        elapsed = time.monotonic() - started
        assert {a.result.blocks[0].text for a in answers} == {ANSWER_TEXT}
        async with session.post(f"{service.url}/v2/{PROJECT_ID}/ocr/general-text",
                                data=b"{}") as unsigned:
            assert unsigned.status == 401
    assert elapsed >= 0.05  # answered after the latency (together: max_in_flight below)
    assert service.call_count == 6 and service.unsigned == 1 and service.max_in_flight == 5
    assert all(call.body == b"" for call in service.calls)  # bodies not kept
    times = [call.received_at for call in service.calls]
    assert times == sorted(times)


def test_tree_memory_sees_this_process() -> None:
    memory = TreeMemory(root=os.getpid())
    memory.sample()
    assert memory.root_hwm > 0 and memory.tree_peak >= memory.root_hwm // 2
    assert memory.samples == 1


@pytest.mark.parametrize(("kind", "pages"), [("images", 20), ("pdf", 12)])
async def test_one_scenario_end_to_end(tmp_path: Path, kind: Kind, pages: int) -> None:
    scenario = Scenario(f"tiny-{kind}", kind, pages, qps=100.0, concurrency=4, latency=0.01)
    figures = await run_scenario(scenario, tmp_path / "work")
    assert figures.exit_code == 0
    assert figures.calls == figures.pages == pages
    assert 1 <= figures.max_in_flight <= 4
    assert figures.achieved_qps > 0 and figures.qps_ratio > 0
    assert figures.cpu_seconds > 0 and figures.cpu_per_page > 0
    assert figures.parent_peak_rss_mib > 0 and figures.worker_peak_rss_mib > 0
    assert figures.workers >= 1 and figures.tree_peak_rss_mib >= figures.parent_peak_rss_mib
    outputs = sorted((tmp_path / "work" / "out").rglob("*.json"))
    assert len(outputs) == (pages if kind == "images" else 1)
    result = json.loads(outputs[0].read_text())
    assert len(result["pages"]) == (1 if kind == "images" else pages)
    assert result["pages"][-1]["blocks"][0]["text"] == "Benchmark page"
    report = table([figures, figures])
    assert report.count(f"tiny-{kind}") == 2 and "QPS achieved/configured" in report
    larger = replace(figures, tree_peak_rss_mib=figures.tree_peak_rss_mib * 1.5,
                     worker_peak_rss_mib=0.0)
    ratios = memory_ratio(figures, larger)
    assert ratios["tree"] == pytest.approx(1.5, abs=0.001)
    assert ratios["parent"] == 1.0 and ratios["worker"] == 0.0


async def test_a_failed_run_is_an_error_with_its_output(tmp_path: Path) -> None:
    scenario = Scenario("broken", "images", 2, qps=10.0)
    with pytest.raises(RuntimeError, match="ocrpipe exited 2"):
        await run_scenario(scenario, tmp_path / "work", ocrpipe=str(_failing_ocrpipe(tmp_path)))


def _failing_ocrpipe(tmp_path: Path) -> Path:
    script = tmp_path / "ocrpipe"
    script.write_text("#!/bin/sh\necho 'job could not run' >&2\nexit 2\n")
    script.chmod(0o755)
    return script
