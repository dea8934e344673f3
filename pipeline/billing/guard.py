"""A job's monthly budget, watched while it runs (`[budget] on_exceeded` in the job file,
`[[budget]]` of its enterprise project in the billing file).

At the start the guard counts what the project spent this month (billed calls, or their
cost deducted in Huawei's order); then each billed call of the run adds to it. When the
budget is spent: with "stop" it sets the job's `stopping` event, so no new page is sent
(pages in flight finish and are kept) and the run ends with the reason "budget"; with
"continue" it logs a warning once and the job goes on. The budget's threshold alert
itself is in `ocrpipe billing status`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from dataclasses import dataclass, field

from pipeline.billing.calls import load_calls
from pipeline.billing.config import (
    BILLING_ENV,
    Billing,
    Budget,
    billing_path,
    find_billing_path,
    load_billing,
)
from pipeline.billing.deduction import Call, deduct
from pipeline.errors import ConfigError
from pipeline.store import Store
from pipeline.store.db import DEFAULT_DB

log = logging.getLogger(__name__)

COST_CHECK_S = 1.0


@dataclass
class BudgetGuard:
    billing: Billing
    budget: Budget
    on_exceeded: str
    stopping: asyncio.Event
    region: str | None
    api: str
    calls: list[Call] = field(default_factory=list)  # the ledger at the start, + this run's
    exceeded: bool = False
    _next_id: int = -1
    _month_count: tuple[str, int] = ("", 0)  # (month, billed calls of the project in it)
    _cost_checked: float = -COST_CHECK_S  # time.monotonic() of the last cost check

    @property
    def project(self) -> str:
        return self.budget.enterprise_project

    def spent(self, now: dt.datetime) -> float:
        """This month's calls (or cost) of the project, this run's billed calls included."""
        zone = self.billing.zone
        month = now.astimezone(zone).strftime("%Y-%m")
        if self.budget.month_calls is not None:
            if self._month_count[0] != month:  # counted once a month, then one by one
                self._month_count = (month, sum(
                    1 for c in self.calls if c.outcome == "billed"
                    and c.enterprise_project == self.project
                    and c.at.astimezone(zone).strftime("%Y-%m") == month))
            return self._month_count[1]
        return sum(c.cost or 0.0 for c in deduct(self.calls, self.billing).charges
                   if c.paid_by != "possible" and c.enterprise_project == self.project
                   and c.month == month)

    @property
    def limit(self) -> float:
        return float(self.budget.month_calls or self.budget.month_cost or 0)

    @property
    def stopped_job(self) -> bool:
        return self.exceeded and self.on_exceeded == "stop"

    def check(self, now: dt.datetime | None = None) -> None:
        if self.exceeded:
            return
        now = now or dt.datetime.now(dt.UTC)
        spent = self.spent(now)
        if spent < self.limit:
            return
        self.exceeded = True
        unit = "calls" if self.budget.month_calls is not None else self.billing.currency
        if self.on_exceeded == "stop":
            log.warning("budget of enterprise project %s spent (%g of %g %s this month): "
                        "no new page is sent", self.project, spent, self.limit, unit)
            self.stopping.set()
        else:
            log.warning("budget of enterprise project %s spent (%g of %g %s this month): "
                        "going on ([budget] on_exceeded = \"continue\")", self.project, spent,
                        self.limit, unit)

    def billed(self) -> None:
        """One more billed call of this run (the ledger hook calls it). A calls budget is
        checked at every call; a cost budget (a deduction over the whole ledger) at most
        every COST_CHECK_S seconds, so it may overshoot by the calls of that time."""
        now = dt.datetime.now(dt.UTC)
        self.calls.append(Call(self._next_id, now, self.project, self.api, self.region,
                               "billed"))
        self._next_id -= 1
        if self.budget.month_calls is not None:
            month = now.astimezone(self.billing.zone).strftime("%Y-%m")
            if self._month_count[0] == month:
                self._month_count = (month, self._month_count[1] + 1)
        elif time.monotonic() - self._cost_checked < COST_CHECK_S:
            return
        self._cost_checked = time.monotonic()
        self.check(now)

    def message(self) -> str:
        unit = "calls" if self.budget.month_calls is not None else self.billing.currency
        return (f"stopped: the monthly budget of enterprise project {self.project!r} "
                f"({self.limit:g} {unit}) is spent; the remaining documents are left for a "
                "later run (raise the budget in the billing file, or wait for next month)")


async def open_guard(store: Store, *, project: str, api: str, region: str | None,
                     on_exceeded: str | None, stopping: asyncio.Event) -> BudgetGuard | None:
    """The guard of a job, or None when no budget applies. A job that asks for one
    (`[budget]`) needs the billing file and a `[[budget]]` of its project in it."""
    database = os.environ.get("OCRPIPE_DB") or DEFAULT_DB
    if on_exceeded is None:
        found = find_billing_path(database)
        if found is None or not await asyncio.to_thread(found.is_file):
            return None
    path = billing_path(database)
    billing = await asyncio.to_thread(load_billing, path)
    budget = next((b for b in billing.budget if b.enterprise_project == project), None)
    if budget is None:
        if on_exceeded is not None:
            raise ConfigError(f"the job has [budget] but the billing file {path} has no "
                              f"[[budget]] of enterprise project {project!r}: add one, or "
                              f"drop [budget] from the job (billing file: ${BILLING_ENV})")
        return None
    guard = BudgetGuard(billing, budget, on_exceeded or budget.on_exceeded, stopping, region,
                        api, await load_calls(store))
    guard.check()
    return guard
