"""`--jobs DIR`: job files with a schedule load into the state store; a bad file is reported
by file and key and the others still load; a changed file updates its schedule, a removed
one removes it, a file gone bad keeps the last good version."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.schedules.loader import WebhookLimits, read_dir, signature, sync_dir
from pipeline.store import ScheduleStore, Store, open_store

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def job_file(folder: Path, name: str, extra: str, project: str = "finance") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\n{extra}\n[source]\nurl = "scans"\n'
                    f'[ocr]\nenterprise_project_id = "{project}"\n[output]\nurl = "out"\n')
    return path


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:///{tmp_path / 'state.db'}")
    yield opened
    await opened.close()


def test_bad_files_are_named_by_file_and_key_and_the_others_load(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    job_file(jobs, "nightly", 'schedule = "0 2 * * *"\ntimezone = "Asia/Shanghai"')
    job_file(jobs, "adhoc", "")  # no schedule: not a schedule, not an error
    bad_cron = job_file(jobs, "broken", 'schedule = "0 2 * *"')
    bad_zone = job_file(jobs, "zoned", 'schedule = "@daily"\ntimezone = "Asia/Shangai"')
    loaded = read_dir(jobs, NOW)
    assert [(s.name, s.cron, s.timezone) for s in loaded.schedules] == [
        ("nightly", "0 2 * * *", "Asia/Shanghai")]
    assert loaded.schedules[0].spec["source"]["url"] == str((jobs / "scans").resolve())
    assert len(loaded.problems) == 2
    broken, zoned = loaded.problems
    assert str(bad_cron) in broken and "schedule: '0 2 * *': a cron line has five" in broken
    assert str(bad_zone) in zoned and "timezone: 'Asia/Shangai' is not an IANA" in zoned


async def test_sync_follows_the_folder(tmp_path: Path, store: Store,
                                       caplog: pytest.LogCaptureFixture) -> None:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    nightly = job_file(jobs, "nightly", 'schedule = "0 2 * * *"')
    hourly = job_file(jobs, "hourly", 'schedule = "@hourly"')
    schedules = ScheduleStore(store)
    before = signature(jobs)
    await sync_dir(store, jobs, NOW)
    assert [s.name for s in await schedules.list_schedules()] == ["hourly", "nightly"]
    await schedules.set_paused("finance", "nightly", True)

    job_file(jobs, "nightly", 'schedule = "30 3 * * *"')  # changed: updated, still paused
    hourly.unlink()  # removed: its schedule goes
    assert signature(jobs) != before
    await sync_dir(store, jobs, NOW)
    listed = await schedules.list_schedules()
    assert [(s.name, s.cron, s.paused) for s in listed] == [("nightly", "30 3 * * *", True)]

    nightly.write_text(nightly.read_text().replace("30 3", "30 33"))  # gone bad: kept
    with caplog.at_level(logging.ERROR, logger="pipeline.schedules.loader"):
        await sync_dir(store, jobs, NOW)
    assert [(s.name, s.cron) for s in await schedules.list_schedules()] == [
        ("nightly", "30 3 * * *")]
    assert any(str(nightly) in r.getMessage() and "schedule:" in r.getMessage()
               for r in caplog.records if r.levelno == logging.ERROR)


def test_two_files_of_one_name_are_an_error(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    job_file(jobs, "nightly", 'schedule = "@daily"')
    (jobs / "zz-copy.toml").write_text((jobs / "nightly.toml").read_text())
    loaded = read_dir(jobs, NOW)
    assert len(loaded.schedules) == 1
    assert loaded.problems == [f"{jobs / 'zz-copy.toml'}: name: 'nightly' is also the name of "
                               f"{jobs / 'nightly.toml'} (one schedule per name and "
                               "enterprise project)"]


def test_credentials_are_refused_in_scheduled_job_files(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    path = jobs / "secret.toml"
    path.write_text('name = "secret"\nschedule = "@daily"\n[source]\nurl = "scans"\n'
                    'pdf_password = "hunter2"\n[output]\nurl = "out"\n')
    loaded = read_dir(jobs, NOW)
    assert loaded.schedules == []
    assert "source.pdf_password: scheduled jobs may not carry credentials" in loaded.problems[0]
    assert "hunter2" not in loaded.problems[0]


def test_webhooks_follow_ups_rules(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    job_file(jobs, "public", 'schedule = "@daily"\n[notify]\nwebhook = "https://hooks.example.com/x"')
    job_file(jobs, "private", 'schedule = "@daily"\n[notify]\nwebhook = "http://127.0.0.1:9/x"')
    loaded = read_dir(jobs, NOW, WebhookLimits(can_sign=True, allow_private=False))
    assert [s.name for s in loaded.schedules] == ["public"]
    assert "notify.webhook: 127.0.0.1 is a loopback" in loaded.problems[0]
    unsigned = read_dir(jobs, NOW, WebhookLimits(can_sign=False))
    assert unsigned.schedules == [] and all(
        "cannot sign webhooks" in p for p in unsigned.problems)
    assert len(read_dir(jobs, NOW, WebhookLimits(allow_private=True)).schedules) == 2
