"""`ocrpipe billing`: accounting as the provider bills it.

    ocrpipe billing status [--format table|json] [--at 2026-03-01T12:00+08:00]
    ocrpipe reconcile --usage-url https://ocr.example:8080 | --csv console.csv [--dry-run]

Reads the state database ($OCRPIPE_DB) and the billing file ($OCRPIPE_BILLING, else
billing.toml beside the database).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any, cast

import click

from pipeline.errors import ConfigError, ExitCode, OcrpipeError


@click.group("billing")
def billing_group() -> None:
    """Packages, pay-per-use and alerts, deducted from the usage ledger in Huawei's order."""


@billing_group.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--at", "at", default=None, metavar="ISO-TIME",
              help="The books as of this moment (the calls made by then, the packages' "
                   "states then) [default: now]; a time without a zone is in the billing "
                   "file's timezone.")
def status_command(fmt: str, at: str | None) -> None:
    """What each package has left and its state, pay-per-use cost per enterprise project,
    API, region and month, possible charges of outcome-unknown calls, and alerts."""
    from pipeline.billing.alerts import raise_alerts
    from pipeline.billing.calls import load_calls
    from pipeline.billing.config import billing_path, load_billing
    from pipeline.billing.deduction import deduct
    from pipeline.billing.paid_by import record_deductions
    from pipeline.billing.status import billing_status, format_status
    from pipeline.ledger.report import existing_database
    from pipeline.store import open_store

    async def collect() -> dict[str, Any]:
        store = await open_store(where)
        try:
            calls = await load_calls(store)
            books = deduct(calls, billing)
            await record_deductions(store, books)
            await raise_alerts(store, billing, books)
        finally:
            await store.close()
        return billing_status(billing, calls, moment)

    try:
        where = existing_database(os.environ.get("OCRPIPE_DB"))
        path = billing_path(where)
        billing = load_billing(path)
        moment = _moment(at, billing.zone)
        click.echo(f"state database: {where}; billing file: {path}", err=True)
        status = asyncio.run(collect())
    except OcrpipeError as exc:
        click.echo(f"ocrpipe: error: {exc}", err=True)
        sys.exit(getattr(exc, "exit_code", ExitCode.CONFIG))
    click.echo(format_status(status, fmt), nl=False)


def _moment(value: str | None, zone: dt.tzinfo) -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--at {value!r} is not an ISO time such as 2026-03-01T12:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


@click.command("reconcile")
@click.option("--usage-url", default=None, envvar="OCRPIPE_USAGE_URL", show_envvar=True,
              help="An `ocrpipe serve` base URL: its GET /v1/usage is the provider's count "
                   "(admin key from $OCRPIPE_ADMIN_KEY).")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A CSV export instead: columns date, enterprise project, API, calls.")
@click.option("--dry-run", is_flag=True, help="List the differences; change nothing.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def reconcile_command(usage_url: str | None, csv_file: Path | None, dry_run: bool,
                      fmt: str) -> None:
    """Compare the ledger's billed calls per enterprise project, API and UTC day with the
    provider's count, next to the outcome-unknown calls that can explain each difference;
    then settle those unknown calls (billed if the provider counted them, else failed).

    Exit codes: 0 the books agree (after settling); 1 differences remain that unknown
    calls do not explain; 2 wrong arguments or unreadable input.
    """
    from pipeline.billing import reconcile
    from pipeline.ledger.report import existing_database
    from pipeline.store import open_store

    if (usage_url is None) == (csv_file is None):
        raise click.UsageError("give --usage-url or --csv (one of them)")

    async def work() -> tuple[list[reconcile.Difference], tuple[int, int]]:
        if csv_file is not None:
            provider = reconcile.counts_from_csv(csv_text, str(csv_file))
        else:
            key = os.environ.get("OCRPIPE_ADMIN_KEY")
            if not key:
                raise ConfigError("set OCRPIPE_ADMIN_KEY to the service's admin key "
                                  "(auth file [admin]) to read its /v1/usage")
            provider = await reconcile.fetch_usage(str(usage_url), key)
        store = await open_store(where)
        try:
            differences = await reconcile.compare(store, provider)
            settled = (0, 0) if dry_run else await reconcile.apply(store, differences)
        finally:
            await store.close()
        return differences, settled

    try:
        where = existing_database(os.environ.get("OCRPIPE_DB"))
        csv_text = _read(csv_file) if csv_file is not None else ""
        differences, (billed, failed) = asyncio.run(work())
    except OcrpipeError as exc:
        click.echo(f"ocrpipe: error: {exc}", err=True)
        sys.exit(getattr(exc, "exit_code", ExitCode.CONFIG))
    unexplained = [d for d in differences if not d.explained]
    if fmt == "json":
        click.echo(json.dumps({"differences": [d.as_dict() for d in differences],
                               "made_billed": billed, "made_failed": failed,
                               "agree": not unexplained}, indent=2))
    else:
        for d in differences:
            verdict = "explained by unknown calls" if d.explained else "NOT explained"
            click.echo(f"{d.day} {d.enterprise_project} {d.api}: ledger {d.ledger_billed}, "
                       f"provider {d.provider}, unknown {len(d.unknown_ids)}: {verdict}")
        click.echo(f"{'would settle' if dry_run else 'settled'}: {billed} unknown calls billed, "
                   f"{failed} not billed; books "
                   f"{'agree' if not unexplained else 'disagree'}")
    sys.exit(1 if unexplained else 0)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def grouped_report(fmt: str, by: str, since: dt.datetime | None, until: dt.datetime | None,
                   chart: Path | None) -> None:
    """`ocrpipe report --by ...` (see pipeline/billing/usage_report.py)."""
    from pipeline.billing.chart import daily_by_project, draw_chart
    from pipeline.billing.config import Billing, billing_path, load_billing
    from pipeline.billing.usage_report import By, format_usage_report, load_rows, usage_report
    from pipeline.ledger.report import existing_database
    from pipeline.store import open_store

    async def rows() -> list[Any]:
        store = await open_store(where)
        try:
            return await load_rows(store)
        finally:
            await store.close()

    first, last = (since.date() if since else None), (until.date() if until else None)
    try:
        where = existing_database(os.environ.get("OCRPIPE_DB"))
        path = billing_path(where)
        billing: Billing | None = load_billing(path) if path.is_file() else None
        click.echo(f"state database: {where}; billing file: "
                   f"{path if billing else 'none (no costs)'}", err=True)
        found = asyncio.run(rows())
        report = usage_report(found, billing, cast(By, by), since=first, until=last)
        if chart is not None:
            zone: dt.tzinfo = billing.zone if billing else dt.UTC
            draw_chart(chart, daily_by_project(found, zone, first, last), report["packages"])
    except OcrpipeError as exc:
        click.echo(f"ocrpipe: error: {exc}", err=True)
        sys.exit(getattr(exc, "exit_code", ExitCode.CONFIG))
    click.echo(format_usage_report(report, fmt), nl=False)
