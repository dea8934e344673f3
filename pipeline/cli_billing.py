"""`ocrpipe billing`: accounting as the provider bills it.

    ocrpipe billing status [--format table|json] [--at 2026-03-01T12:00+08:00]

Reads the state database ($OCRPIPE_DB) and the billing file ($OCRPIPE_BILLING, else
billing.toml beside the database).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from typing import Any

import click

from pipeline.errors import ConfigError, ExitCode, OcrpipeError


@click.group("billing")
def billing_group() -> None:
    """Packages, pay-per-use and alerts, deducted from the usage ledger in Huawei's order."""


@billing_group.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--at", "at", default=None, metavar="ISO-TIME",
              help="Package states as of this moment [default: now]; a time without a "
                   "zone is in the billing file's timezone.")
def status_command(fmt: str, at: str | None) -> None:
    """What each package has left and its state, pay-per-use cost per enterprise project,
    API, region and month, possible charges of outcome-unknown calls, and alerts."""
    from pipeline.billing.calls import load_calls
    from pipeline.billing.config import billing_path, load_billing
    from pipeline.billing.status import billing_status, format_status
    from pipeline.ledger.report import existing_database
    from pipeline.store import open_store

    async def collect() -> dict[str, Any]:
        store = await open_store(where)
        try:
            calls = await load_calls(store)
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
