"""Messages a user acts on (issue 10, class 9): a PDF with no pages says so, a strip of
an image is recognised rather than crashing the engine, Ctrl-C prints what was done and
how to resume, a bad job name is explained in words, `ocrpipe report` names its state
database and creates none."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.config import parse_job
from pipeline.errors import ConfigError
from pipeline.runner import run_job
from pipeline.testing import FakeOcrServer, Reply
from tests.support.cli_run import ROOT, environment, finish, job_text, start
from tests.support.inputs import text_page
from tests.support.jobs import FAKE_AK, FAKE_SK, image_job


async def test_a_pdf_with_no_pages_says_so(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = parse_job(image_job(tmp_path, server, monkeypatch, name="empty", documents=1))
    pikepdf.new().save(tmp_path / "in" / "empty.pdf")
    summary = await run_job(spec)
    (key, reason), = summary.failures
    assert key == "empty.pdf" and "has no pages" in reason and "encrypt" not in reason
    assert server.call_count == 1  # the image only


def strip(width: int, height: int) -> np.ndarray:
    long, short = max(width, height), min(width, height)
    image = Image.new("RGB", (long, short), "white")
    ImageDraw.Draw(image).text(
        (4, 0), "strip of text " * (long // 150), fill="black",
        font=ImageFont.load_default(size=short - 4),
    )
    if height > width:
        image = image.rotate(90, expand=True)
    return np.asarray(image)[:, :, ::-1].copy()


def test_a_strip_too_thin_for_detection_is_read_as_one_line() -> None:
    from pipeline.service.backend import EngineRequest
    from pipeline.service.rapid import RapidBackend, too_thin_to_detect

    engine = RapidBackend(1)
    for width, height in ((4000, 20), (20, 4000)):
        image = strip(width, height)
        assert too_thin_to_detect(image)
        result = engine.recognize(image, EngineRequest(detect_direction=True))
        (line,) = result.lines
        assert "strip of text" in line.text
        assert line.box[2] == (float(width), float(height))  # the whole strip, as sent
    assert not too_thin_to_detect(strip(2000, 60))


async def test_ctrl_c_prints_what_was_done_and_how_to_resume(tmp_path: Path) -> None:
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}, default=Reply.ok(delay=0.5)) as fake:
        inputs = tmp_path / "in"
        inputs.mkdir()
        for n in range(6):
            text_page([f"Doc {n}"], size=(320, 120)).save(inputs / f"d{n}.png")
        job = tmp_path / "job.toml"
        job.write_text(job_text("ctrl-c", inputs, tmp_path / "out", fake,
                                ocr="concurrency = 1\n"))
        proc = await start(job, environment(tmp_path))
        reached = asyncio.Event()
        fake.on_request = lambda _: reached.set()
        await asyncio.wait_for(reached.wait(), 120)
        proc.send_signal(signal.SIGINT)
        run = await finish(proc)
    assert run.code == 130 and run.no_traceback(), run.out
    assert "ocrpipe: error" not in run.out
    assert "documents" in run.out and "billed calls" in run.out  # the summary
    assert "run the same job again to resume" in run.out


def test_a_job_name_that_breaks_the_pattern_is_explained_in_words() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_job('name = "my scans 2024"\n[source]\nurl = "in"\n[output]\nurl = "out"\n')
    message = str(caught.value)
    assert "letters, digits" in message and "'my scans 2024'" in message
    assert "^[" not in message


def report(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "report", *args], env=env, capture_output=True,
        text=True, timeout=120, check=False, cwd=ROOT,
    )


async def test_report_names_its_database_creates_none_and_knows_its_jobs(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = dict(os.environ, OCRPIPE_DB=str(tmp_path / "none" / "state.db"))
    missing = report(env)
    assert missing.returncode == 2 and "no state database at" in missing.stderr
    assert not (tmp_path / "none").exists()

    spec = parse_job(image_job(tmp_path, server, monkeypatch, name="known", documents=1))
    await run_job(spec)
    env = environment(tmp_path)
    found = report(env, "--format", "csv")
    assert found.returncode == 0 and f"state database: {tmp_path / 'state.db'}" in found.stderr
    assert "default,general-text,1" in found.stdout
    unknown = report(env, "--job", "nope")
    assert unknown.returncode == 2 and "no job named 'nope'" in unknown.stderr
    assert "known" in unknown.stderr


async def test_a_40000_by_20_image_is_refused_before_sending_with_no_traceback(
    tmp_path: Path,
) -> None:
    """Through `ocrpipe run` and the embedded engine: refused in words, nothing sent."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    strip_image = Image.new("L", (40_000, 20), 255)
    ImageDraw.Draw(strip_image).text(
        (5, 1), " ".join(f"word{n}" for n in range(3000)), fill=0,
        font=ImageFont.load_default(size=16),
    )
    strip_image.save(inputs / "strip.png")
    job = tmp_path / "job.toml"
    job.write_text(job_text("strip", inputs, tmp_path / "out", None,
                            ocr="embedded_workers = 1\n"))
    run = await finish(await start(job, environment(tmp_path)))
    assert run.code == 1 and run.no_traceback(), run.out
    assert "more than 100 times the shorter" in run.out and "cut it into" in run.out
    assert "billed calls    none" in run.out  # refused before any call
    assert not (tmp_path / "out" / "strip.png.txt").exists()
