from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pipeline.billing.config import Package, parse_billing
from pipeline.billing.deduction import Call
from pipeline.billing.lifecycle import next_renewal, package_state, renewal_attempts
from pipeline.billing.status import billing_status

SHANGHAI = ZoneInfo("Asia/Shanghai")


def pkg(extra: str = "") -> Package:
    text = ('[[package]]\nid = "p"\napi = "general-text"\nregion = "cn-north-4"\ncalls = 10\n'
            "effective = 2026-01-01\nexpires = 2026-06-30\ncreated = 2025-12-01\n"
            "grace_days = 15\nretention_days = 10\n" + extra)
    return parse_billing(text).package[0]


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day + "T12:00").replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(("day", "used", "state"), [
    ("2025-12-31", 0, "not_effective"),
    ("2026-01-01", 0, "available"),
    ("2026-06-30", 9, "available"),
    ("2026-06-30", 10, "used_up"),
    ("2026-07-01", 0, "grace"),
    ("2026-07-15", 10, "grace"),
    ("2026-07-16", 0, "frozen"),
    ("2026-07-25", 0, "frozen"),
    ("2026-07-26", 0, "released"),
])
def test_state_at_each_moment(day: str, used: int, state: str) -> None:
    assert package_state(pkg(), at(day), used, SHANGHAI) == state


def test_without_grace_or_retention_it_is_just_expired() -> None:
    p = pkg().model_copy(update={"grace_days": 0, "retention_days": 0})
    assert package_state(p, at("2026-07-01"), 0, SHANGHAI) == "expired"
    assert package_state(p, at("2027-07-01"), 0, SHANGHAI) == "expired"


def test_renewal_tries_at_three_n_days_before_then_daily() -> None:
    p = pkg("auto_renew = true\nrenew_days_before = 3\n")
    tries = renewal_attempts(p, SHANGHAI)
    assert [t.isoformat() for t in tries] == [
        "2026-06-27T03:00:00+08:00", "2026-06-28T03:00:00+08:00",
        "2026-06-29T03:00:00+08:00", "2026-06-30T03:00:00+08:00"]
    assert next_renewal(p, at("2026-06-28"), SHANGHAI) == tries[2]
    assert next_renewal(p, at("2026-06-30"), SHANGHAI) is None
    assert renewal_attempts(pkg(), SHANGHAI) == []


def test_status_as_of_a_moment_counts_the_calls_made_by_then() -> None:
    billing = parse_billing(
        '[[package]]\nid = "p"\napi = "general-text"\nregion = "cn-north-4"\ncalls = 2\n'
        "effective = 2026-01-01\nexpires = 2026-06-30\ncreated = 2025-12-01\n")
    calls = [Call(n, dt.datetime(2026, 3, n, tzinfo=dt.UTC), "p", "general-text", None, "billed")
             for n in (1, 2)]
    march_1 = billing_status(billing, calls, dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))
    assert (march_1["packages"][0]["used"], march_1["packages"][0]["state"]) == (1, "available")
    later = billing_status(billing, calls, dt.datetime(2026, 7, 20, tzinfo=dt.UTC))
    assert (later["packages"][0]["used"], later["packages"][0]["state"]) == (2, "frozen")
