"""The README's nightly-bucket example is a valid scheduled job file."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from pipeline.config import parse_job
from pipeline.cron import Cron

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_nightly_bucket_example_parses_and_runs_at_two_in_shanghai() -> None:
    section = README.read_text(encoding="utf-8").split("## Scheduled runs", 1)[1]
    found = re.search(r"```toml\n# jobs/nightly-scans.toml\n(.*?)```", section, re.S)
    assert found is not None, "the README lost its nightly-bucket example"
    spec = parse_job(found.group(1), origin="README")
    assert (spec.name, spec.schedule, spec.timezone, spec.overlap, spec.misfire) == (
        "nightly-scans", "0 2 * * *", "Asia/Shanghai", "skip", "run_once")
    assert spec.source.url == "s3://scans/incoming/"
    due = Cron(spec.schedule or "", spec.timezone).next_due(datetime(2026, 6, 1, tzinfo=UTC))
    assert due == datetime(2026, 6, 1, 18, 0, tzinfo=UTC)  # 02:00 on 2 June in Shanghai
