"""How far back the ledger must be kept for the books to come out the same: the
deduction is a function of the whole ledger, so `ocrpipe db prune` may remove only
what no later charge depends on.

- Free quotas and pay-per-use tiers count per calendar month (the billing file's time
  zone): a cutoff inside a month would make that month's later calls look like its
  first ones, so the cutoff is the start of its month.
- A package pays calls from its `effective` day to its `expires` day; while it can
  still pay (it expires on or after the cutoff), its remaining balance counts every
  call it paid for: the ledger is kept from the month it took effect.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pipeline.billing.config import Billing


@dataclass(frozen=True)
class Floor:
    cutoff: dt.datetime
    """The (possibly earlier) cutoff: rows from it on are kept."""
    reason: str | None
    """Why it moved, for the user; None when it did not."""


def month_start(moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    local = moment.astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def ledger_floor(cutoff: dt.datetime, billing: Billing | None) -> Floor:
    """`cutoff` moved back to a month's start and before the packages still paying."""
    zone = billing.zone if billing is not None else ZoneInfo("UTC")
    start = month_start(cutoff, zone)
    reason = None
    if start != cutoff.astimezone(zone):
        reason = f"whole months only (free quotas and tiers count per month): {start:%Y-%m-%d}"
    if billing is None:
        return Floor(start, reason)
    paying = [p for p in billing.package if p.expires >= start.date() and
              dt.datetime.combine(p.effective, dt.time(), zone) < start]
    if paying:
        first = min(paying, key=lambda p: p.effective)
        start = month_start(dt.datetime.combine(first.effective, dt.time(), zone), zone)
        reason = (f"package {first.id!r} ({first.effective} to {first.expires}) can still "
                  f"pay, and its balance counts every call it paid: the ledger is kept from "
                  f"{start:%Y-%m-%d}")
    return Floor(start, reason)
