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
