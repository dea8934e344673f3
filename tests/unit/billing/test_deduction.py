"""Deduction order, one test per rule of protocol.md §4, on hand-made ledgers."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from pipeline.billing.config import parse_billing
from pipeline.billing.deduction import Call, deduct

UTC = dt.UTC
_ids = itertools.count(1)


def billing(body: str, *, free: int = 0, price: str = "") -> Any:
    head = f'currency = "CNY"\n[[free_quota]]\napi = "general-text"\ncalls_per_month = {free}\n'
    price = price or ('[[price]]\napi = "general-text"\nregion = "cn-north-4"\n'
                      'tiers = [{ up_to = 3, per_call = 0.5 }, { per_call = 0.25 }]\n')
    return parse_billing(head + body + price)


def package(pid: str, *, calls: int = 10, effective: str = "2026-01-01",
            expires: str = "2026-12-31", created: str = "2025-12-01",
            project: str | None = None, api: str = "general-text",
            region: str = "cn-north-4", extra: str = "") -> str:
    bound = f'enterprise_project = "{project}"\n' if project else ""
    return (f'[[package]]\nid = "{pid}"\napi = "{api}"\nregion = "{region}"\ncalls = {calls}\n'
            f"effective = {effective}\nexpires = {expires}\ncreated = {created}\n{bound}{extra}")


def call(at: str = "2026-03-01T10:00", *, project: str = "proj-a", api: str = "general-text",
         region: str | None = "cn-north-4", outcome: str = "billed") -> Call:
    when = dt.datetime.fromisoformat(at).replace(tzinfo=UTC)
    return Call(next(_ids), when, project, api, region, outcome)


def payers(calls: list[Call], books: Any) -> list[str | None]:
    by_call = books.by_call()
    return [by_call[c.id].package or by_call[c.id].paid_by for c in calls]


def test_free_quota_pays_first_then_packages() -> None:
    calls = [call() for _ in range(3)]
    books = deduct(calls, billing(package("p1"), free=2))
    assert payers(calls, books) == ["free_quota", "free_quota", "p1"]
    assert books.used["p1"] == 1


def test_free_quota_is_per_calendar_month() -> None:
    calls = [call("2026-03-31T23:00"), call("2026-03-31T23:30"), call("2026-04-01T00:10")]
    books = deduct(calls, billing(package("p1"), free=1))
    assert payers(calls, books) == ["free_quota", "p1", "free_quota"]


def test_bound_package_before_unbound() -> None:
    # the unbound package is older on every date, yet the bound one pays first
    body = (package("shared", effective="2025-01-01", expires="2026-06-30", created="2024-12-01")
            + package("mine", project="proj-a", created="2025-12-30"))
    books = deduct([c := call()], billing(body))
    assert payers([c], books) == ["mine"]


def test_bound_package_of_another_project_never_pays() -> None:
    body = package("theirs", project="proj-b") + package("shared", created="2025-12-30")
    calls = [call(project="proj-a"), call(project="proj-b")]
    assert payers(calls, deduct(calls, billing(body))) == ["shared", "theirs"]
    only_theirs = deduct([c := call(project="proj-a")],
                         billing(package("theirs", project="proj-b")))
    assert payers([c], only_theirs) == ["pay_per_use"]


def test_earliest_effective_first() -> None:
    body = package("late", effective="2026-02-01") + package("early", effective="2026-01-15")
    books = deduct([c := call()], billing(body))
    assert payers([c], books) == ["early"]


def test_earliest_expiry_breaks_an_effective_tie() -> None:
    body = package("long", expires="2026-12-31") + package("short", expires="2026-09-30")
    books = deduct([c := call()], billing(body))
    assert payers([c], books) == ["short"]


def test_earliest_created_breaks_an_expiry_tie() -> None:
    body = package("newer", created="2025-12-10") + package("older", created="2025-11-10")
    books = deduct([c := call()], billing(body))
    assert payers([c], books) == ["older"]


def test_full_tie_is_broken_by_id_the_same_way_every_time() -> None:
    body = package("b") + package("a")
    calls = [call() for _ in range(3)]
    first = payers(calls, deduct(calls, billing(body)))
    again = payers(list(reversed(calls)), deduct(list(reversed(calls)), billing(body)))
    assert first == ["a", "a", "a"]
    assert again == ["a", "a", "a"]


def test_package_pays_only_for_its_api_and_region() -> None:
    body = (package("idcard", api="id-card") + package("other-region", region="ap-southeast-1")
            + package("right", created="2026-01-01"))
    calls = [call(), call(api="id-card"), call(region="ap-southeast-1")]
    assert payers(calls, deduct(calls, billing(body))) == ["right", "idcard", "other-region"]


def test_package_pays_only_while_in_force_at_call_time() -> None:
    body = package("p", effective="2026-03-01", expires="2026-03-31")
    calls = [call("2026-02-28T23:59"), call("2026-03-01T00:00"), call("2026-03-31T23:59"),
             call("2026-04-01T00:00")]
    assert payers(calls, deduct(calls, billing(body))) == [
        "pay_per_use", "p", "p", "pay_per_use"]


def test_package_used_up_mid_job_falls_to_the_next_then_pay_per_use() -> None:
    body = package("small", calls=2, project="proj-a") + package("shared", calls=1)
    calls = [call(f"2026-03-01T10:0{n}") for n in range(5)]
    books = deduct(calls, billing(body))
    assert payers(calls, books) == ["small", "small", "shared", "pay_per_use", "pay_per_use"]
    assert books.used == {"small": 2, "shared": 1}


def test_package_expiring_mid_job() -> None:
    body = package("p", expires="2026-03-01", calls=100)
    calls = [call("2026-03-01T23:58"), call("2026-03-01T23:59"), call("2026-03-02T00:00")]
    assert payers(calls, deduct(calls, billing(body))) == ["p", "p", "pay_per_use"]


def test_days_follow_the_billing_time_zone() -> None:
    body = 'timezone = "Asia/Shanghai"\n' + package("p", expires="2026-03-01")
    # 16:30 UTC on 1 March is 00:30 on 2 March in Shanghai: the package has expired
    books = deduct([c := call("2026-03-01T16:30")], parse_billing(body))
    assert payers([c], books) == ["pay_per_use"]


def test_pay_per_use_tiers_by_month_volume_and_month_boundary() -> None:
    calls = [call(f"2026-03-31T10:0{n}") for n in range(5)] + [call("2026-04-01T00:00")]
    books = deduct(calls, billing(""))
    costs = [books.by_call()[c.id].cost for c in calls]
    # tier 1 holds the month's first 3 calls; April starts again in tier 1
    assert costs == [0.5, 0.5, 0.5, 0.25, 0.25, 0.5]
    assert [books.by_call()[c.id].month for c in calls[-2:]] == ["2026-03", "2026-04"]


def test_tier_volume_counts_pay_per_use_calls_only() -> None:
    calls = [call(f"2026-03-01T10:0{n}") for n in range(5)]
    books = deduct(calls, billing(package("p", calls=2)))
    assert [books.by_call()[c.id].cost for c in calls] == [0.0, 0.0, 0.5, 0.5, 0.5]


def test_unknown_calls_are_possible_charges_not_deducted() -> None:
    calls = [call(outcome="unknown"), call(outcome="pending"), call(), call(outcome="failed")]
    books = deduct(calls, billing(package("p", calls=1)))
    by_call = books.by_call()
    assert [by_call[c.id].paid_by for c in calls[:3]] == ["possible", "possible", "package"]
    assert calls[3].id not in by_call
    assert books.used == {"p": 1}  # the unknown calls took nothing from the package
    assert by_call[calls[0].id].cost == 0.5  # priced as the next pay-per-use call


def test_no_price_declared_leaves_the_cost_unknown() -> None:
    other = '[[price]]\napi = "id-card"\nregion = "cn-north-4"\ntiers = [{ per_call = 1.0 }]\n'
    books = deduct([c := call()], billing("", price=other))
    assert books.by_call()[c.id].paid_by == "pay_per_use"
    assert books.by_call()[c.id].cost is None


def test_remaining_percent_alert_once_per_crossing() -> None:
    body = package("p", calls=10, extra="alert_remaining_percent = [50, 20]\n")
    calls = [call(f"2026-03-01T10:{n:02d}") for n in range(10)]
    books = deduct(calls, billing(body))
    assert [(a.kind, a.subject, a.threshold, a.call_id) for a in books.alerts] == [
        ("package_remaining", "p", 50.0, calls[4].id),
        ("package_remaining", "p", 20.0, calls[7].id),
    ]


def test_budget_alert_per_project_and_month() -> None:
    body = '[[budget]]\nenterprise_project = "proj-a"\nmonth_calls = 2\n'
    calls = [call("2026-03-01T10:00"), call("2026-03-01T10:01", project="proj-b"),
             call("2026-03-01T10:02"), call("2026-03-01T10:03"), call("2026-04-01T10:00"),
             call("2026-04-02T10:00")]
    books = deduct(calls, billing(body))
    assert [(a.kind, a.subject, a.call_id) for a in books.alerts] == [
        ("budget", "proj-a", calls[2].id), ("budget", "proj-a", calls[5].id)]
