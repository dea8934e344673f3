"""`ocrpipe bench` as a user runs it: outputs that agree with each other, and consent
before a billing endpoint."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from pipeline.cli import main
from pipeline.testing import make_page


def samples(tmp_path: Path) -> Path:
    folder = tmp_path / "samples"
    folder.mkdir()
    for n in range(3):
        make_page(f"cli{n}", (320, 160)).save(folder / f"p{n}.png")
    return folder


def test_the_fake_sweep_writes_a_table_and_consistent_csv_json_and_png(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "bench", "fake", "--samples", str(samples(tmp_path)), "--qps", "20,40",
        "--concurrency", "4", "--seconds", "0.25", "--min-calls", "5",
        "--fake-latency", "0.01", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    assert "ocrpipe bench: fake" in result.output and "sustained" in result.output
    (csv_path,) = out.glob("*.csv")
    (json_path,) = out.glob("*.json")
    (png_path,) = out.glob("*.png")
    assert csv_path.stem == json_path.stem == png_path.stem
    with csv_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert [float(r["qps"]) for r in rows] == [s["qps"] for s in data["steps"]] == [20, 40]
    for row, step in zip(rows, data["steps"], strict=True):
        assert int(row["calls"]) == step["calls"] == int(row["ok"]) > 0
        assert float(row["pages_per_s"]) == pytest.approx(step["pages_per_s"])
        assert f"{step['pages_per_s']:.1f}" in result.output
    best = max(data["steps"], key=lambda s: s["pages_per_s"])
    assert data["sustained"]["pages_per_s"] == best["pages_per_s"]
    assert data["stopped_by_429"] is None and data["sample_pages"] == 3
    assert str(png_path) in result.output
    with Image.open(png_path) as png:
        assert png.format == "PNG" and png.size == (1200, 500)
        assert len(png.getcolors(1 << 20) or []) > 50  # drawn, not blank


def test_a_billing_endpoint_is_refused_without_yes(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", "AKNOTUSED")
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", "sk-must-not-appear")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "bench", "https://ocr.cn-north-4.myhuaweicloud.com", "--project-id", "p1",
        "--samples", str(samples(tmp_path)), "--qps", "1,2", "--concurrency", "1,2",
        "--seconds", "5", "--min-calls", "1", "--out", str(out),
    ])
    assert result.exit_code == 2
    # 1 QPS x 5 s = 5 calls and 2 x 5 = 10, at each of 2 concurrencies: 30 at most
    assert "up to 30 OCR calls" in result.output
    assert "--yes" in result.output
    assert "sk-must-not-appear" not in result.output
    assert not out.exists()


def test_a_remote_endpoint_needs_its_project_id(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [
        "bench", "https://ocr.example.com", "--yes", "--samples", str(samples(tmp_path)),
        "--qps", "1", "--concurrency", "1", "--out", str(tmp_path / "out"),
    ])
    assert result.exit_code == 2 and "--project-id" in result.output
