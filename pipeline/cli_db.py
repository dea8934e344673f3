"""`ocrpipe db upgrade` and `ocrpipe db current`: the state database's schema revision
(Alembic migrations shipped in the package, pipeline/store/migrate.py)."""

from __future__ import annotations

import asyncio
import sys
from typing import NoReturn

import click

from pipeline.errors import ExitCode, OcrpipeError


def _fail(exc: OcrpipeError) -> NoReturn:
    click.echo(f"ocrpipe: error: {exc}", err=True)
    sys.exit(getattr(exc, "exit_code", ExitCode.CONFIG))


STATE_HELP = "State database: a path, sqlite:///PATH or postgresql://USER@HOST/DB."


@click.group("db")
def db_command() -> None:
    """The state database's schema (SQLite or PostgreSQL)."""


@db_command.command("upgrade")
@click.option("--state", default=None, envvar="OCRPIPE_DB", show_envvar=True, help=STATE_HELP)
def upgrade_command(state: str | None) -> None:
    """Bring the state database to this version's schema, in place (an older SQLite
    state file included); running it again changes nothing."""
    from pipeline.store.migrate import upgrade

    try:
        done = asyncio.run(upgrade(state))
    except OcrpipeError as exc:
        _fail(exc)
    if done.before == done.after:
        click.echo(f"{done.database}: at revision {done.after}, nothing to do")
    else:
        click.echo(f"{done.database}: upgraded from {done.before or 'no revision'} "
                   f"to {done.after}")


@db_command.command("current")
@click.option("--state", default=None, envvar="OCRPIPE_DB", show_envvar=True, help=STATE_HELP)
def current_command(state: str | None) -> None:
    """The state database's revision and the newest this version ships."""
    from pipeline.store.migrate import current, head

    try:
        now = asyncio.run(current(state))
    except OcrpipeError as exc:
        _fail(exc)
    click.echo(f"{now.database}: revision {now.after or 'none'} (newest: {head()})")


RETENTION_ENV = "OCRPIPE_RETENTION_MONTHS"


@db_command.command("prune")
@click.option("--state", default=None, envvar="OCRPIPE_DB", show_envvar=True, help=STATE_HELP)
@click.option("--before", "before", default=None, metavar="DATE",
              help="Remove rows from before this day (YYYY-MM-DD; moved back to its "
                   "month's start).")
@click.option("--keep-months", type=click.IntRange(min=0), default=None,
              envvar=RETENTION_ENV, show_envvar=True,
              help="Keep this month and the N months before it; remove older rows.")
@click.option("--documents", "documents_too", is_flag=True,
              help="Also remove finished documents' rows: a later run of their job then "
                   "processes (and is billed for) them again as new.")
@click.option("--dry-run", is_flag=True, help="Count what would go; remove nothing.")
def prune_command(state: str | None, before: str | None, keep_months: int | None,
                  documents_too: bool, dry_run: bool) -> None:
    """Remove old settled ledger rows and finished pages' results from the state
    database (the README's "Sizing and retention" says what is kept and why). The billing
    file, when there is one, moves the cutoff back so the books come out the same."""
    from pipeline.prune import cutoff_of, run_prune

    try:
        cutoff = cutoff_of(before, keep_months)
        done, note = asyncio.run(run_prune(state, cutoff, documents_too=documents_too,
                                           dry_run=dry_run))
    except OcrpipeError as exc:
        _fail(exc)
    if note:
        click.echo(f"cutoff moved back: {note}")
    verb = "would remove" if done.dry_run else "removed"
    click.echo(f"rows from before {done.cutoff:%Y-%m-%d %H:%M %Z}: {verb} {done.usage} ledger, "
               f"{done.deductions} deductions, {done.pages} pages, {done.documents} documents, "
               f"{done.runs} runs")
    click.echo(f"kept: {done.kept_unsettled} ledger rows still pending or unknown (reconcile "
               f"may settle them), {done.kept_running} of running jobs")
