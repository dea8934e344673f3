"""Due times of cron lines in IANA zones (cronsim), and the job-file keys of schedules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.config import parse_job
from pipeline.cron import Cron, CronError, five_fields
from pipeline.errors import ConfigError


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_a_time_skipped_by_spring_forward_is_due_right_after_the_change() -> None:
    # Europe/Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST; 02:30 never happens
    cron = Cron("30 2 * * *", "Europe/Berlin")
    dues = cron.due_between(utc(2026, 3, 27, 12), utc(2026, 3, 30, 12))
    assert dues == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]
    assert [cron.local(d).strftime("%H:%M %Z") for d in dues] == [
        "02:30 CET", "03:00 CEST", "02:30 CEST"]


def test_a_time_repeated_by_fall_back_is_due_once() -> None:
    # Europe/Berlin, 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 happens twice
    dues = Cron("30 2 * * *", "Europe/Berlin").due_between(utc(2026, 10, 24, 12),
                                                           utc(2026, 10, 26, 12))
    assert dues == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_daily_in_shanghai_is_midnight_there() -> None:
    cron = Cron("@daily", "Asia/Shanghai")
    assert cron.next_due(utc(2026, 6, 1, 15, 59)) == utc(2026, 6, 1, 16, 0)
    assert cron.next_due(utc(2026, 6, 1, 16, 0)) == utc(2026, 6, 2, 16, 0)


@pytest.mark.parametrize(("line", "fields"), [
    ("@hourly", "0 * * * *"), ("@DAILY", "0 0 * * *"), ("@weekly", "0 0 * * 0"),
    ("  0   2 * *  * ", "0 2 * * *"),
])
def test_shorthands_and_spacing(line: str, fields: str) -> None:
    assert five_fields(line) == fields


@pytest.mark.parametrize(("line", "says"), [
    ("61 2 * * *", "minute"), ("0 2 * *", "five fields"), ("@fortnightly", "unknown shorthand"),
    ("0 25 * * *", "hour"),
])
def test_a_bad_line_says_what_is_wrong(line: str, says: str) -> None:
    with pytest.raises(CronError, match=says):
        five_fields(line)


def job(extra: str) -> str:
    return f'name = "nightly"\n{extra}\n[source]\nurl = "in"\n[output]\nurl = "out"\n'


def test_schedule_keys_of_a_job_file() -> None:
    spec = parse_job(job('schedule = "0 2 * * *"\ntimezone = "Asia/Shanghai"\n'
                         'overlap = "queue"\nmisfire = "skip"'))
    assert (spec.schedule, spec.timezone, spec.overlap, spec.misfire) == (
        "0 2 * * *", "Asia/Shanghai", "queue", "skip")
    plain = parse_job(job(""))
    assert (plain.schedule, plain.timezone, plain.overlap, plain.misfire) == (
        None, "UTC", "skip", "run_once")


@pytest.mark.parametrize(("extra", "says"), [
    ('schedule = "0 2 * * * *"', r"schedule: '0 2 \* \* \* \*': a cron line has five fields"),
    ('schedule = "0 2 31 2 *"', "schedule: "),
    ('timezone = "Mars/Olympus"', "timezone: 'Mars/Olympus' is not an IANA time zone"),
    ('overlap = "wait"', "overlap: Input should be 'skip' or 'queue'"),
    ('misfire = "all"', "misfire: Input should be 'run_once' or 'skip'"),
])
def test_a_bad_schedule_key_is_named(extra: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_job(job(extra), origin="jobs/nightly.toml")
