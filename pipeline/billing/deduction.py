"""Deduction in Huawei's order (protocol.md §4), as a pure function of the ledger.

Each billed call, in the order it was made, is paid by the first of:

1. the free quota of its API for that calendar month;
2. a package of its API and region, in force on the call's day (effective <= day <=
   expires) with calls left, and not bound to another enterprise project. Among those:
   bound to the call's project before unbound, then the earliest effective, the earliest
   to expire, the earliest created, and the package id as the last tie-break (so the
   same ledger always deducts the same way);
3. pay-per-use, priced at the tier of the month's pay-per-use volume of that API and
   region (the call is the month's n-th such call; a new month starts again at 1).

Calls whose outcome is unknown (sent, no answer) take nothing: each is listed as a
possible charge, priced as if it were the next pay-per-use call, until reconciled.
Days and months are those of the billing file's `timezone`.

Crossings of a package's remaining-percent thresholds and of a project's monthly budget
are found on the way, once per crossing, at the call that crossed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from pipeline.billing.config import Billing, Package

PaidBy = Literal["free_quota", "package", "pay_per_use", "possible"]


@dataclass(frozen=True)
class Call:
    """One ledger row, as billing sees it."""

    id: int  # the usage row id
    at: dt.datetime  # when it was sent (timezone-aware)
    enterprise_project: str
    api: str
    region: str | None  # None: not known, any region's package or price matches
    outcome: str  # billed | unknown | pending | failed | saved


@dataclass(frozen=True)
class Charge:
    """What paid (or may have to pay) for one call."""

    call_id: int
    paid_by: PaidBy
    enterprise_project: str
    api: str
    region: str | None
    month: str  # YYYY-MM in the billing time zone
    package: str | None = None
    cost: float | None = 0.0  # None: pay-per-use with no price declared for it


@dataclass(frozen=True)
class Alert:
    kind: Literal["package_remaining", "budget"]
    subject: str  # the package id, or the enterprise project
    threshold: float  # percent remaining, or the budget's limit
    at: dt.datetime
    call_id: int


@dataclass
class Books:
    """The outcome of `deduct`: a charge per billed or unknown call, calls used per
    package, and the alerts raised."""

    charges: list[Charge] = field(default_factory=list)
    used: Counter[str] = field(default_factory=Counter)
    alerts: list[Alert] = field(default_factory=list)

    def by_call(self) -> dict[int, Charge]:
        return {c.call_id: c for c in self.charges}


POSSIBLE = ("unknown", "pending")


def package_order(pkg: Package, project: str) -> tuple[int, dt.date, dt.date, dt.date, str]:
    return (0 if pkg.enterprise_project == project else 1, pkg.effective, pkg.expires,
            pkg.created, pkg.id)


def can_pay(pkg: Package, call: Call, day: dt.date) -> bool:
    return (pkg.api == call.api
            and (call.region is None or pkg.region == call.region)
            and pkg.enterprise_project in (None, call.enterprise_project)
            and pkg.effective <= day <= pkg.expires)


def deduct(calls: Iterable[Call], billing: Billing) -> Books:
    zone = billing.zone
    books = Books()
    free_used: Counter[tuple[str, str]] = Counter()  # (api, month)
    ppu_volume: Counter[tuple[str, str | None, str]] = Counter()  # (api, region, month)
    budget_spent: dict[tuple[str, str, str], float] = defaultdict(float)
    budgets_crossed: set[tuple[str, str, str]] = set()
    thresholds_crossed: set[tuple[str, float]] = set()
    ordered = sorted(calls, key=lambda c: (c.at, c.id))
    for call in ordered:
        if call.outcome not in ("billed", *POSSIBLE):
            continue
        local = call.at.astimezone(zone)
        day, month = local.date(), local.strftime("%Y-%m")
        if call.outcome in POSSIBLE:
            price = billing.price_of(call.api, call.region)
            nth = ppu_volume[(call.api, call.region, month)] + 1
            books.charges.append(Charge(call.id, "possible", call.enterprise_project, call.api,
                                        call.region, month,
                                        cost=price.per_call(nth) if price else None))
            continue
        charge = _pay(call, day, month, billing, books, free_used, ppu_volume)
        books.charges.append(charge)
        if charge.package is not None:
            _package_alerts(billing, charge.package, books, thresholds_crossed, call)
        _budget_alerts(billing, charge, books, budget_spent, budgets_crossed, call)
    return books


def _pay(call: Call, day: dt.date, month: str, billing: Billing, books: Books,
         free_used: Counter[tuple[str, str]],
         ppu_volume: Counter[tuple[str, str | None, str]]) -> Charge:
    def charge(paid_by: PaidBy, package: str | None = None, cost: float | None = 0.0) -> Charge:
        return Charge(call.id, paid_by, call.enterprise_project, call.api, call.region, month,
                      package, cost)

    if free_used[(call.api, month)] < billing.free_calls(call.api):
        free_used[(call.api, month)] += 1
        return charge("free_quota")
    candidates = [p for p in billing.package
                  if can_pay(p, call, day) and books.used[p.id] < p.calls]
    if candidates:
        pkg = min(candidates, key=lambda p: package_order(p, call.enterprise_project))
        books.used[pkg.id] += 1
        return charge("package", pkg.id)
    volume_key = (call.api, call.region, month)
    ppu_volume[volume_key] += 1
    price = billing.price_of(call.api, call.region)
    return charge("pay_per_use", cost=price.per_call(ppu_volume[volume_key]) if price else None)


def _package_alerts(billing: Billing, package_id: str, books: Books,
                    crossed: set[tuple[str, float]], call: Call) -> None:
    pkg = next(p for p in billing.package if p.id == package_id)
    remaining = 100.0 * (pkg.calls - books.used[pkg.id]) / pkg.calls
    for threshold in pkg.alert_remaining_percent:
        if remaining <= threshold and (pkg.id, threshold) not in crossed:
            crossed.add((pkg.id, threshold))
            books.alerts.append(Alert("package_remaining", pkg.id, threshold, call.at, call.id))


def _budget_alerts(billing: Billing, charge: Charge, books: Books,
                   spent: dict[tuple[str, str, str], float],
                   crossed: set[tuple[str, str, str]], call: Call) -> None:
    for budget in billing.budget:
        if budget.enterprise_project != charge.enterprise_project:
            continue
        unit = "calls" if budget.month_calls is not None else "cost"
        key = (charge.enterprise_project, charge.month, unit)
        spent[key] += 1 if unit == "calls" else (charge.cost or 0.0)
        limit = float(budget.month_calls or budget.month_cost or 0)
        if spent[key] >= limit and key not in crossed:
            crossed.add(key)
            books.alerts.append(Alert("budget", charge.enterprise_project, limit, call.at,
                                      call.id))
