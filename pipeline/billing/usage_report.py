"""`ocrpipe report --by project|api|day|month [--since D] [--until D] [--chart FILE]`:
the ledger grouped by one key, with what paid for the calls when there is a billing file.

Per group: billed, failed and outcome-unknown calls, pages billed, calls saved, calls
paid by the free quota, calls deducted per package, pay-per-use calls and cost, and the
possible cost of the unknown calls. The deduction runs over the whole ledger (a package's
balance depends on every earlier call); `--since`/`--until` (inclusive days) only choose
the rows shown. Beside the rows: each package's remaining quota, expiry and state.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from pipeline.billing.calls import aware, run_regions
from pipeline.billing.config import Billing
from pipeline.billing.deduction import Call, deduct
from pipeline.billing.lifecycle import package_state
from pipeline.store import Store
from pipeline.store.schema import usage

By = Literal["project", "api", "day", "month"]
COLUMNS = ("group", "billed", "failed", "unknown", "pages", "saved", "free_quota",
           "deducted", "pay_per_use_calls", "cost", "possible_cost")


@dataclass(frozen=True)
class Row:
    """One ledger row with the page it was for."""

    call: Call
    page: tuple[str, str, int]  # (job, document, page index)


async def load_rows(store: Store) -> list[Row]:
    query = (
        select(usage.c.id, usage.c.started_at, usage.c.enterprise_project, usage.c.api,
               run_regions.c.region, usage.c.outcome, usage.c.job, usage.c.doc_key,
               usage.c.page_index)
        .select_from(usage.outerjoin(run_regions, run_regions.c.run_id == usage.c.run_id))
        .order_by(usage.c.started_at, usage.c.id)
    )
    async with store.engine.connect() as conn:
        found = (await conn.execute(query)).all()
    return [Row(Call(r.id, aware(r.started_at), r.enterprise_project, r.api, r.region,
                     r.outcome), (r.job, r.doc_key, r.page_index)) for r in found]


def group_of(call: Call, by: By, zone: ZoneInfo) -> str:
    local = call.at.astimezone(zone)
    return {"project": call.enterprise_project, "api": call.api,
            "day": local.strftime("%Y-%m-%d"), "month": local.strftime("%Y-%m")}[by]


def usage_report(rows: list[Row], billing: Billing | None, by: By, *,
                 since: dt.date | None = None, until: dt.date | None = None,
                 now: dt.datetime | None = None) -> dict[str, Any]:
    zone = billing.zone if billing else ZoneInfo("UTC")
    books = deduct([r.call for r in rows], billing) if billing else None
    charges = books.by_call() if books else {}
    groups: dict[str, dict[str, Any]] = {}
    pages: dict[str, set[tuple[str, str, int]]] = defaultdict(set)
    for row in rows:
        day = row.call.at.astimezone(zone).date()
        if (since and day < since) or (until and day > until):
            continue
        key = group_of(row.call, by, zone)
        g = groups.setdefault(key, {c: 0 for c in COLUMNS} | {"group": key, "deducted": {},
                                                               "cost": 0.0,
                                                               "possible_cost": 0.0})
        outcome = row.call.outcome
        if outcome == "billed":
            g["billed"] += 1
            pages[key].add(row.page)
        elif outcome in ("unknown", "pending"):
            g["unknown"] += 1
        elif outcome in ("failed", "saved"):
            g[outcome] += 1
        charge = charges.get(row.call.id)
        if charge is None:
            continue
        if charge.paid_by == "free_quota":
            g["free_quota"] += 1
        elif charge.paid_by == "package" and charge.package:
            g["deducted"][charge.package] = g["deducted"].get(charge.package, 0) + 1
        elif charge.paid_by == "pay_per_use":
            g["pay_per_use_calls"] += 1
            g["cost"] += charge.cost or 0.0
        else:
            g["possible_cost"] += charge.cost or 0.0
    for key, g in groups.items():
        g["pages"] = len(pages[key])
        g["cost"], g["possible_cost"] = round(g["cost"], 6), round(g["possible_cost"], 6)
    moment = now or dt.datetime.now(dt.UTC)
    packages = [] if billing is None or books is None else [
        {"id": p.id, "calls": p.calls, "remaining": p.calls - books.used[p.id],
         "expires": p.expires.isoformat(),
         "state": package_state(p, moment, books.used[p.id], zone)}
        for p in billing.package]
    return {"by": by, "currency": billing.currency if billing else None,
            "rows": [groups[k] for k in sorted(groups)], "packages": packages}


def _cell(row: dict[str, Any], column: str) -> str:
    value = row[column]
    if column == "deducted":
        return "; ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "-"
    return str(value)


def format_usage_report(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([report["by"], *COLUMNS[1:]])
        writer.writerows([_cell(r, c) for c in COLUMNS] for r in report["rows"])
        return out.getvalue()
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, force_terminal=False)
    table = Table(title=f"OCR usage by {report['by']}")
    for column in COLUMNS:
        table.add_column(report["by"] if column == "group" else column.replace("_", " "))
    for row in report["rows"]:
        table.add_row(*(_cell(row, c) for c in COLUMNS))
    if not report["rows"]:
        table.caption = "no OCR calls in this period"
    console.print(table)
    if report["packages"]:
        packages = Table(title="Packages")
        for column in ("id", "calls", "remaining", "expires", "state"):
            packages.add_column(column)
        for p in report["packages"]:
            packages.add_row(*(str(p[c]) for c in ("id", "calls", "remaining", "expires",
                                                   "state")))
        console.print(packages)
    return buffer.getvalue()
