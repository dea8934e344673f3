"""`[budget] on_exceeded = "stop"`: the job stops taking pages once its enterprise
project's monthly budget is spent, records the reason "budget" and leaves the rest for
a later run; "continue" only warns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.config import parse_job
from pipeline.errors import ConfigError, ExitCode
from pipeline.runner import exit_code_of, run_job
from pipeline.testing import FakeOcrServer
from tests.support.jobs import image_job

BUDGET = """\
[[budget]]
enterprise_project = "proj-a"
month_calls = 3
on_exceeded = "continue"
"""
"""The billing file says "continue"; a job's own [budget] overrides it."""


def runs(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT status, exit_code FROM runs ORDER BY id").fetchall()


def budget_job(tmp: Path, server: FakeOcrServer, env: pytest.MonkeyPatch,
               on_exceeded: str) -> str:
    (tmp / "billing.toml").write_text(BUDGET)
    env.delenv("OCRPIPE_BILLING", raising=False)
    ocr = 'enterprise_project_id = "proj-a"\nconcurrency = 1\n'
    text = image_job(tmp, server, env, name="capped", documents=6, ocr=ocr)
    return text + f'[budget]\non_exceeded = "{on_exceeded}"\n'


async def test_stop_leaves_the_rest_for_a_later_run(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = parse_job(budget_job(tmp_path, server, monkeypatch, "stop"))
    first = await run_job(spec)
    assert first.stopped == "budget" and exit_code_of(first) == ExitCode.DOCUMENTS_FAILED
    assert first.billed_calls == {"proj-a": 3} and first.documents_done == 3
    assert any("monthly budget of enterprise project 'proj-a'" in n for n in first.notices)
    assert server.call_count == 3

    second = await run_job(spec)  # the budget is still spent: nothing is sent
    assert second.stopped == "budget" and second.documents_done == 0
    assert server.call_count == 3
    assert runs(tmp_path / "state.db") == [("budget", 1), ("budget", 1)]
    done = {p.name.split(".")[0] for p in (tmp_path / "out").iterdir()}
    assert len(done) == 3  # the three documents that were recognised have their outputs


async def test_continue_goes_on_past_the_budget(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = parse_job(budget_job(tmp_path, server, monkeypatch, "continue"))
    summary = await run_job(spec)
    assert summary.stopped is None and summary.documents_done == 6
    assert exit_code_of(summary) == ExitCode.OK
    assert "budget of enterprise project proj-a spent (3 of 3 calls" in caplog.text


async def test_a_budget_the_billing_file_lacks_is_a_config_error(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = budget_job(tmp_path, server, monkeypatch, "stop").replace("proj-a", "proj-b")
    with pytest.raises(ConfigError, match="no \\[\\[budget\\]\\] of enterprise project 'proj-b'"):
        await run_job(parse_job(text))
