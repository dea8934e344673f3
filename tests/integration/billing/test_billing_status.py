"""`ocrpipe billing status` over a ledger that real runs wrote: two enterprise projects,
a bound package used up midway, an unbound one, the free quota, pay-per-use, and a call
whose answer was dropped (outcome unknown: a possible charge, not deducted)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.config import parse_job
from pipeline.runner import run_job
from pipeline.testing import FakeOcrServer, Reply, make_page
from tests.support.billing import billing_toml, free_quota, package, price
from tests.support.jobs import image_job

BILLING = billing_toml(
    free_quota(1),
    package("a-only", 2, project="proj-a", alert_percent=[50]),
    package("shared", 2, effective="2019-01-01", created="2018-12-01"),
    price(0.01),
)


async def status(fmt: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, main, ["billing", "status",
                                                                "--format", fmt])
    return result.exit_code, result.output


async def test_status_after_two_projects_ran(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "billing.toml").write_text(BILLING)  # beside the state database
    monkeypatch.delenv("OCRPIPE_BILLING", raising=False)
    spec_a = parse_job(image_job(tmp_path / "a", server, monkeypatch, name="a", documents=4,
                                 ocr='enterprise_project_id = "proj-a"\n'))
    spec_b = parse_job(image_job(tmp_path / "b", server, monkeypatch, name="b", documents=2,
                                 ocr='enterprise_project_id = "proj-b"\n'))
    for n in range(2):  # pages of their own, not a copy of proj-a's (which is reused)
        make_page(f"b{n}", (320, 160)).save(tmp_path / "b" / "in" / f"doc{n}.png")
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "a" / "state.db"))  # one for both
    server.script(Reply.drop())  # the first call's answer is lost: outcome unknown, retried
    summary_a = await run_job(spec_a)
    assert summary_a.documents_done == 4 and summary_a.billed_calls == {"proj-a": 4}
    assert (await run_job(spec_b)).billed_calls == {"proj-b": 2}

    code, out = await status("json")
    assert code == 0, out
    books = json.loads(out[out.index("{"):])
    packages = {p["id"]: p for p in books["packages"]}
    # proj-a: 1 free, 2 from its bound package (used up), 1 from the shared one;
    # proj-b: the shared package's last call, then pay-per-use
    assert packages["a-only"]["used"] == 2
    assert packages["a-only"]["remaining"] == 0 and packages["a-only"]["state"] == "used_up"
    assert packages["shared"]["used"] == 2 and packages["shared"]["enterprise_project"] is None
    assert [(r["enterprise_project"], r["calls"], r["cost"]) for r in books["pay_per_use"]] == [
        ("proj-b", 1, 0.01)]
    assert [(r["enterprise_project"], r["calls"]) for r in books["free_quota"]] == [("proj-a", 1)]
    assert [(r["enterprise_project"], r["calls"]) for r in books["possible_charges"]] == [
        ("proj-a", 1)]
    assert [(a["kind"], a["subject"], a["threshold"]) for a in books["alerts"]] == [
        ("package_remaining", "a-only", 50.0)]

    with sqlite3.connect(tmp_path / "a" / "state.db") as conn:  # what paid for each row
        paid = conn.execute("SELECT u.enterprise_project, d.paid_by, d.package, count(*) "
                            "FROM deductions d JOIN usage u ON u.id = d.usage_id "
                            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()
    assert paid == [("proj-a", "free_quota", None, 1), ("proj-a", "package", "a-only", 2),
                    ("proj-a", "package", "shared", 1), ("proj-a", "possible", None, 1),
                    ("proj-b", "package", "shared", 1), ("proj-b", "pay_per_use", None, 1)]

    code, table = await status("table")
    assert code == 0 and "used_up" in table and "possible charges" in table

    chart = tmp_path / "usage.png"
    result = await asyncio.to_thread(CliRunner().invoke, main, [
        "report", "--by", "project", "--format", "json", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    rows = {r["group"]: r for r in json.loads(result.stdout)["rows"]}
    assert rows["proj-a"]["deducted"] == {"a-only": 2, "shared": 1}
    assert rows["proj-b"]["deducted"] == {"shared": 1} and rows["proj-b"]["cost"] == 0.01
    assert chart.read_bytes().startswith(b"\x89PNG")


async def test_status_without_a_billing_file_says_where_to_put_it(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = parse_job(image_job(tmp_path, server, monkeypatch, name="x", documents=1))
    await run_job(spec)
    monkeypatch.delenv("OCRPIPE_BILLING", raising=False)
    code, out = await status("json")
    assert code == 2
    assert f"no billing file at {tmp_path / 'billing.toml'}" in out
    assert "OCRPIPE_BILLING" in out
