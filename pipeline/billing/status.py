"""`ocrpipe billing status`: each package's use and state, pay-per-use per enterprise
project, API, region and month, the possible charges of outcome-unknown calls, and the
alerts raised, as JSON (the fixed interface of issue 18, extended) or a table."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from pipeline.billing.config import Billing
from pipeline.billing.deduction import Call, Charge, deduct
from pipeline.billing.lifecycle import next_renewal, package_state


def billing_status(billing: Billing, calls: Iterable[Call], now: dt.datetime) -> dict[str, Any]:
    """The books as of `now`: the calls made by then, the packages' states then."""
    books = deduct((c for c in calls if c.at <= now), billing)
    zone = billing.zone
    packages = []
    for pkg in billing.package:
        used = books.used[pkg.id]
        renewal = next_renewal(pkg, now, zone)
        packages.append({
            "id": pkg.id, "api": pkg.api, "region": pkg.region,
            "enterprise_project": pkg.enterprise_project, "calls": pkg.calls, "used": used,
            "remaining": pkg.calls - used, "state": package_state(pkg, now, used, zone),
            "effective": pkg.effective.isoformat(), "expires": pkg.expires.isoformat(),
            "next_renewal": renewal.isoformat() if renewal else None,
        })
    return {
        "currency": billing.currency,
        "packages": packages,
        "pay_per_use": _grouped(c for c in books.charges if c.paid_by == "pay_per_use"),
        "free_quota": _grouped([c for c in books.charges if c.paid_by == "free_quota"],
                               cost=False),
        "possible_charges": _grouped(c for c in books.charges if c.paid_by == "possible"),
        "alerts": [{"kind": a.kind, "subject": a.subject, "threshold": a.threshold,
                    "at": a.at.isoformat()} for a in books.alerts],
    }


def _grouped(charges: Iterable[Charge], *, cost: bool = True) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str | None, str], list[Charge]] = defaultdict(list)
    for c in charges:
        groups[(c.enterprise_project, c.api, c.region, c.month)].append(c)
    out = []
    for (project, api, region, month), items in sorted(groups.items(), key=_group_order):
        row: dict[str, Any] = {"enterprise_project": project, "api": api, "region": region,
                               "month": month, "calls": len(items)}
        if cost:
            unpriced = sum(1 for c in items if c.cost is None)
            row["cost"] = round(sum(c.cost or 0.0 for c in items), 6)
            row["unpriced_calls"] = unpriced  # no [[price]] for their API and region
        out.append(row)
    return out


def _group_order(item: tuple[tuple[str, str, str | None, str], Any]) -> tuple[str, ...]:
    project, api, region, month = item[0]
    return (project, api, region or "", month)




def format_status(status: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(status, indent=2) + "\n"
    buffer = io.StringIO()
    console = Console(file=buffer, width=170, force_terminal=False)
    currency = status["currency"]
    sections: list[tuple[str, tuple[str, ...], list[dict[str, Any]]]] = [
        ("Packages", ("id", "api", "region", "enterprise_project", "calls", "used",
                      "remaining", "state", "expires", "next_renewal"), status["packages"]),
        (f"Pay-per-use ({currency})", ("enterprise_project", "api", "region", "month", "calls",
                                       "cost", "unpriced_calls"), status["pay_per_use"]),
        ("Free quota", ("enterprise_project", "api", "region", "month", "calls"),
         status["free_quota"]),
        (f"Outcome unknown: possible charges, not deducted ({currency})",
         ("enterprise_project", "api", "region", "month", "calls", "cost"),
         status["possible_charges"]),
        ("Alerts", ("kind", "subject", "threshold", "at"), status["alerts"]),
    ]
    for title, columns, rows in sections:
        table = Table(title=title)
        for column in columns:
            table.add_column(column.replace("_", " "))
        for row in rows:
            table.add_row(*("-" if row.get(c) is None else str(row[c]) for c in columns))
        if not rows:
            table.caption = "none"
        console.print(table)
    return buffer.getvalue()
