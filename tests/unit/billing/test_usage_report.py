from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.billing.chart import daily_by_project, draw_chart
from pipeline.billing.config import parse_billing
from pipeline.billing.deduction import Call
from pipeline.billing.usage_report import Row, format_usage_report, usage_report
from pipeline.errors import ConfigError

BILLING = parse_billing("""
[[free_quota]]
api = "general-text"
calls_per_month = 1
[[package]]
id = "p"
api = "general-text"
region = "cn-north-4"
calls = 2
effective = 2026-01-01
expires = 2026-12-31
created = 2025-12-01
[[price]]
api = "general-text"
region = "cn-north-4"
tiers = [{ per_call = 0.5 }]
""")


def row(n: int, day: str, project: str, outcome: str = "billed", page: int = 0) -> Row:
    at = dt.datetime.fromisoformat(f"{day}T10:00:0{n % 10}").replace(tzinfo=dt.UTC)
    return Row(Call(n, at, project, "general-text", "cn-north-4", outcome), ("j", "d", page))


ROWS = [
    row(1, "2026-03-01", "a", page=0), row(2, "2026-03-01", "a", page=0),  # 2 calls, 1 page
    row(3, "2026-03-02", "b", page=1), row(4, "2026-03-02", "b", page=2),
    row(5, "2026-03-03", "a", "unknown", page=3), row(6, "2026-03-03", "a", "saved", page=4),
    row(7, "2026-04-01", "b", page=5),
]


def test_by_project_shows_what_paid() -> None:
    report = usage_report(ROWS, BILLING, "project",
                          now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    a, b = report["rows"]
    assert (a["group"], a["billed"], a["pages"], a["unknown"], a["saved"]) == ("a", 2, 1, 1, 1)
    # March: free quota, then the package twice, then pay-per-use; April: free quota again
    assert (a["free_quota"], a["deducted"], a["pay_per_use_calls"]) == (1, {"p": 1}, 0)
    assert (b["free_quota"], b["deducted"], b["pay_per_use_calls"], b["cost"]) == (
        1, {"p": 1}, 1, 0.5)
    assert a["possible_cost"] == 0.5
    assert report["packages"] == [{"id": "p", "calls": 2, "remaining": 0,
                                   "expires": "2026-12-31", "state": "used_up"}]


def test_by_month_and_period_keep_the_deduction_of_earlier_calls() -> None:
    report = usage_report(ROWS, BILLING, "month", since=dt.date(2026, 3, 2),
                          until=dt.date(2026, 3, 31))
    (march,) = report["rows"]
    # the calls of 1 March are outside the period, yet they used the free quota and
    # one call of the package: 2 March's calls are the package's last and pay-per-use
    assert (march["group"], march["billed"], march["deducted"], march["pay_per_use_calls"]) == (
        "2026-03", 2, {"p": 1}, 1)


def test_formats() -> None:
    report = usage_report(ROWS, BILLING, "day")
    csv_text = format_usage_report(report, "csv")
    assert csv_text.splitlines()[0].startswith("day,billed,failed,unknown,pages")
    assert "2026-03-01,2,0,0,1,0,1,p: 1,0,0.0,0.0" in csv_text
    assert "Packages" in format_usage_report(report, "table")
    assert usage_report(ROWS, None, "api")["rows"][0]["deducted"] == {}


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_chart_is_written(tmp_path: Path, suffix: str) -> None:
    report = usage_report(ROWS, BILLING, "day")
    path = tmp_path / f"usage{suffix}"
    draw_chart(path, daily_by_project(ROWS, dt.UTC, None, None), report["packages"])
    data = path.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG") and len(data) > 10_000
    else:
        assert b"<svg" in data[:1000] and b"</svg>" in data


def test_chart_other_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ends in \.png or \.svg"):
        draw_chart(tmp_path / "x.pdf", {}, [])
