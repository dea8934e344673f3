from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from pipeline.billing import guard as guard_module
from pipeline.billing.config import parse_billing
from pipeline.billing.deduction import Call
from pipeline.billing.guard import BudgetGuard

PRICE = ('[[price]]\napi = "general-text"\nregion = "cn-north-4"\n'
         "tiers = [{ per_call = 0.5 }]\n")


def make_guard(budget: str, earlier: list[Call], on_exceeded: str = "stop") -> BudgetGuard:
    billing = parse_billing(PRICE + '[[budget]]\nenterprise_project = "p"\n' + budget)
    return BudgetGuard(billing, billing.budget[0], on_exceeded, asyncio.Event(), "cn-north-4",
                       "general-text", list(earlier))


def earlier_call(n: int, at: dt.datetime, project: str = "p") -> Call:
    return Call(n, at, project, "general-text", "cn-north-4", "billed")


def test_calls_budget_counts_this_month_of_this_project_then_each_call() -> None:
    now = dt.datetime.now(dt.UTC)
    last_month = now - dt.timedelta(days=40)
    earlier = [earlier_call(1, now), earlier_call(2, now, "other"), earlier_call(3, last_month)]
    guard = make_guard("month_calls = 3\n", earlier)
    guard.check()
    assert not guard.exceeded  # 1 of 3 this month
    guard.billed()
    assert not guard.stopping.is_set()
    guard.billed()
    assert guard.exceeded and guard.stopping.is_set() and guard.stopped_job
    assert "'p' (3 calls) is spent" in guard.message()


def test_continue_warns_without_stopping(caplog: pytest.LogCaptureFixture) -> None:
    guard = make_guard("month_calls = 1\n", [], on_exceeded="continue")
    guard.billed()
    assert guard.exceeded and not guard.stopping.is_set() and not guard.stopped_job
    assert "going on" in caplog.text


def test_cost_budget_uses_the_deduction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard_module, "COST_CHECK_S", 0.0)
    guard = make_guard("month_cost = 1.0\n", [])
    guard.billed()
    assert not guard.exceeded  # 0.5 spent
    guard.billed()
    assert guard.stopping.is_set()  # 1.0 spent


def test_cost_budget_is_checked_at_most_every_cost_check_s(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guard_module, "COST_CHECK_S", 3600.0)
    guard = make_guard("month_cost = 1.0\n", [])
    for _ in range(3):
        guard.billed()
    assert not guard.exceeded  # only the first call was checked
    guard.check()
    assert guard.exceeded
