"""A package's state at any moment, and when auto-renewal tries (protocol.md §4).

    not_effective -> available -> used_up            (calls left: none)
                              \\-> grace -> frozen -> released   (after `expires`)

A package pays for calls only while `available` (`used_up`, `grace` and later fall back
to pay-per-use). After its last day it is in `grace` for `grace_days` (the service still
works, billed pay-per-use), then `frozen` for `retention_days` (no service, data kept),
then `released`. A package with neither grace nor retention days is just `expired`.
Auto-renewal first tries at 03:00 local time `renew_days_before` days before expiry and
then daily at 03:00 until the last day.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

from pipeline.billing.config import Package

State = Literal["not_effective", "available", "used_up", "expired", "grace", "frozen",
                "released"]
RENEW_AT = dt.time(3, 0)


def package_state(pkg: Package, at: dt.datetime, used: int, zone: ZoneInfo) -> State:
    day = at.astimezone(zone).date()
    if day < pkg.effective:
        return "not_effective"
    if day <= pkg.expires:
        return "used_up" if used >= pkg.calls else "available"
    if pkg.grace_days == 0 and pkg.retention_days == 0:
        return "expired"
    after = (day - pkg.expires).days  # 1 on the first day after the last
    if after <= pkg.grace_days:
        return "grace"
    if after <= pkg.grace_days + pkg.retention_days:
        return "frozen"
    return "released"


def renewal_attempts(pkg: Package, zone: ZoneInfo) -> list[dt.datetime]:
    """Every auto-renewal attempt of `pkg` (none without auto_renew), oldest first."""
    if not pkg.auto_renew:
        return []
    first = max(pkg.expires - dt.timedelta(days=pkg.renew_days_before), pkg.effective)
    days = (pkg.expires - first).days + 1
    return [dt.datetime.combine(first + dt.timedelta(days=n), RENEW_AT, tzinfo=zone)
            for n in range(days)]


def next_renewal(pkg: Package, at: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """The next attempt after `at`, or None (no auto-renew, or past the last one)."""
    return next((t for t in renewal_attempts(pkg, zone) if t > at), None)
