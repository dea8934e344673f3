"""`make bench` works from a fresh clone (issue 10, class 10): the benchmarks use the
inputs the repository ships and pages they generate; the shared corpus is an extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_rasterizer_benchmark_runs_without_the_shared_corpus(tmp_path: Path) -> None:
    env = dict(os.environ, OCRPIPE_CORPUS=str(tmp_path / "no-corpus"), TMPDIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.rasterizers", "--dpi", "50"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no-corpus" not in done.stdout and "shared" not in done.stdout
    assert "4 PDFs" in done.stdout  # three shipped samples and one generated scan


def test_pages_with_ground_truth_come_from_the_shipped_samples() -> None:
    from benchmarks import inputs  # pytest's pythonpath has the repository root
    folders = [p for p in sorted(inputs.SAMPLES.iterdir()) if p.is_dir()]
    pages = inputs.pages_with_truth(folders)
    assert {p.name for p in pages} >= {"tess_eurotext.tif", "rapidocr_transparent_alpha_zh.png"}
    assert all(p.with_name(p.stem + ".gt.txt").is_file() for p in pages)
