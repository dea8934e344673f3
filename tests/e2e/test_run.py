"""End to end: the `ocrpipe` CLI in a subprocess, on real files, against real services."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.testing import free_port, tagged_pdf
from tests.support.cli import base_env, ocrpipe, report
from tests.support.inputs import bad_files, text_pdf
from tests.support.outputs import echoed, txt_pages
from tests.support.paths import SAMPLES_DIR

SCAN = SAMPLES_DIR / "tess_phototest.tif"  # Apache-2.0, from tesseract-ocr/test


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A job folder: two good documents (a real scan, a 2-page PDF) and every bad input."""
    inputs = tmp_path / "in"
    (inputs / "scans").mkdir(parents=True)
    shutil.copy(SCAN, inputs / "scans" / "phototest.tif")
    text_pdf(inputs / "letter.pdf", [["Invoice number 4711", "Total due 99 EUR"],
                                     ["Second page", "Thank you"]])
    bad = bad_files(inputs / "bad")
    (tmp_path / "expected_bad.json").write_text(json.dumps(bad))
    return tmp_path


def write_job(workdir: Path, endpoint: str = "embedded", **ocr: object) -> Path:
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in ocr.items())
    job = workdir / "job.toml"
    job.write_text(
        f'name = "e2e"\n[source]\nurl = "in"\n[ocr]\nendpoint = "{endpoint}"\n'
        f'enterprise_project_id = "finance"\nconcurrency = 2\nqps = 20\n{extra}'
        f'[output]\nurl = "out"\nformats = ["txt", "json"]\n'
    )
    return job


def test_embedded_run_good_and_bad_documents_then_rerun(workdir: Path) -> None:
    env = base_env(workdir)
    write_job(workdir, embedded_workers=1)
    first = ocrpipe("run", "job.toml", "--no-progress", cwd=workdir, env=env)
    assert first.returncode == 1, first.stdout + first.stderr  # some documents failed

    out = workdir / "out"
    scan_text = (out / "scans" / "phototest.tif.txt").read_text()
    assert "quick brown dog" in scan_text
    letter = (out / "letter.pdf.txt").read_text().split("\f")
    assert len(letter) == 2
    assert "4711" in letter[0] and "Thank" in letter[1]
    data = json.loads((out / "letter.pdf.json").read_text())
    assert data["page_count"] == 2
    page = data["pages"][0]
    assert page["width"] > 0 and len(page["request_id"]) == 32
    assert any("4711" in b["text"] for b in page["blocks"])
    assert all(len(b["box"]) == 4 and 0 <= b["confidence"] <= 1 for b in page["blocks"])

    expected_bad = json.loads((workdir / "expected_bad.json").read_text())
    for name, word in expected_bad.items():
        line = next(ln for ln in first.stdout.splitlines() if f"bad/{name}:" in ln)
        assert word.lower() in line.lower(), line
        assert not list(out.glob(f"bad/{name}*")), f"no output expected for {name}"
    assert "2 done" in first.stdout and f"{len(expected_bad)} failed" in first.stdout

    usage = report(workdir, env)["finance"]
    assert usage["billed"] == 3 and usage["pages"] == 3 and usage["unknown"] == 0

    second = ocrpipe("run", "job.toml", "--no-progress", cwd=workdir, env=env)
    assert second.returncode == 1
    assert "2 unchanged" in second.stdout
    assert report(workdir, env)["finance"]["billed"] == 3  # nothing sent again


@pytest.fixture
def served(workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """`ocrpipe serve --engine scripted` (no models: each page answered with its tag) in a
    subprocess with an auth file; yields its URL and a client env."""
    auth = workdir / "auth.toml"
    auth.write_text('[[credentials]]\nak = "E2EACCESSKEY"\nsk = "e2e-secret-key-0123456789"\n')
    port = free_port()
    env = base_env(workdir)
    log = workdir / "serve.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "serve", "--port", str(port), "--workers", "1",
             "--auth-file", str(auth), "--engine", "scripted", "--state", "none"],
            cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=log_file,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"ocrpipe serve did not start:\n{log.read_text()}")
            time.sleep(0.3)
    client_env = dict(
        env, HUAWEICLOUD_SDK_AK="E2EACCESSKEY", HUAWEICLOUD_SDK_SK="e2e-secret-key-0123456789"
    )
    try:
        yield url, client_env
    finally:
        server.terminate()
        server.wait(timeout=30)
        assert "e2e-secret-key" not in log.read_text()  # the service never logs secrets


def recognized(url: str) -> int:
    with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
        return int(json.loads(answer.read())["recognized"])


def test_rerun_sends_nothing_to_a_remote_service(
    workdir: Path, served: tuple[str, dict[str, str]]
) -> None:
    url, env = served
    shutil.rmtree(workdir / "in" / "bad")
    tags = ["tagged-p1", "tagged-p2", "tagged-p3"]
    tagged_pdf(workdir / "in" / "tagged.pdf", tags)
    write_job(workdir, endpoint=url)
    first = ocrpipe("run", "job.toml", "--no-progress", cwd=workdir, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert recognized(url) == 6
    # the service read each page of the PDF and the answers kept their places
    assert txt_pages(workdir / "out", "tagged.pdf") == echoed(tags)
    second = ocrpipe("run", "job.toml", "--no-progress", cwd=workdir, env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert recognized(url) == 6  # counted on the service: no call the second time
    assert "e2e-secret-key" not in first.stdout + first.stderr + second.stdout + second.stderr


def test_wrong_secret_stops_the_job_with_exit_3(
    workdir: Path, served: tuple[str, dict[str, str]]
) -> None:
    url, env = served
    write_job(workdir, endpoint=url)
    env = dict(env, HUAWEICLOUD_SDK_SK="not-the-right-secret")
    result = ocrpipe("run", "job.toml", "--no-progress", cwd=workdir, env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "HUAWEICLOUD_SDK_AK" in result.stderr
    assert "not-the-right-secret" not in result.stdout + result.stderr
    assert not list((workdir / "out").rglob("*.txt"))


def test_configuration_errors_exit_2(workdir: Path) -> None:
    env = base_env(workdir)
    job = workdir / "bad.toml"
    job.write_text('name = "x"\n[source]\nurl = "in"\nincludes = []\n[output]\nurl = "out"\n')
    result = ocrpipe("run", str(job), cwd=workdir, env=env)
    assert result.returncode == 2
    assert "source.includes: unknown key" in result.stderr

    job.write_text('name = "x"\n[source]\nurl = "missing"\n[output]\nurl = "out"\n')
    result = ocrpipe("run", str(job), "--no-progress", cwd=workdir, env=env)
    assert result.returncode == 2
    assert "missing" in result.stderr and "source.url" in result.stderr

    env_no_creds = base_env(workdir)
    write_job(workdir, endpoint="http://127.0.0.1:9")
    result = ocrpipe("run", "job.toml", "--no-progress", cwd=workdir, env=env_no_creds)
    assert result.returncode == 2
    assert "HUAWEICLOUD_SDK_AK" in result.stderr
