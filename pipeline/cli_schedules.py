"""`ocrpipe schedules`: list, pause, resume and run-now the schedules in the state database
(added to the `ocrpipe` group by `pipeline.cli`). It works on the database that `ocrpipe
up` uses (`--state`), so it needs no token; a running `up` sees the change at its next
tick, and its workers run a run-now job like any queued job."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import click

from pipeline.errors import ExitCode, OcrpipeError

STATE = click.option("--state", default=None, envvar="OCRPIPE_DB", show_envvar=True,
                     help="State database [default: .ocrpipe/state.db].")
PROJECT = click.option("--project", default=None,
                       help="The enterprise project (needed when two have a schedule of "
                            "this name).")


def _call(state: str | None, fn: Callable[[Any], Awaitable[Any]]) -> Any:
    from pipeline.store import open_store

    if state:
        os.environ["OCRPIPE_DB"] = state

    async def go() -> Any:
        store = await open_store()
        try:
            return await fn(store)
        finally:
            await store.close()

    try:
        return asyncio.run(go())
    except OcrpipeError as exc:
        click.echo(f"ocrpipe: error: {exc}", err=True)
        sys.exit(exc.exit_code)


async def _find(store: Any, name: str, project: str | None) -> Any:
    from pipeline.store import ScheduleStore

    found = [s for s in await ScheduleStore(store).list_schedules(project) if s.name == name]
    if not found:
        raise OcrpipeError(f"no schedule {name!r}" + (f" in {project}" if project else "")
                           + ": `ocrpipe schedules list` shows them")
    if len(found) > 1:
        raise OcrpipeError(f"{name!r} is a schedule of {len(found)} enterprise projects: "
                           "give --project")
    return found[0]


@click.group()
def schedules() -> None:
    """Scheduled runs (job files under `ocrpipe up --jobs DIR`, or POST /v1/schedules)."""


@schedules.command("list")
@STATE
@PROJECT
def schedules_list(state: str | None, project: str | None) -> None:
    """Each schedule: cron line, zone, next due time (in its zone), the last run's outcome."""
    from pipeline.schedules.views import schedule_views

    rows = _call(state, lambda store: schedule_views(store, datetime.now(UTC), project))
    click.echo("name\tproject\tschedule\ttimezone\tnext due\tlast run")
    for row in rows:
        click.echo(f"{row['name']}\t{row['enterprise_project']}\t{row['schedule']}\t"
                   f"{row['timezone']}\t{row['next_due'] or 'paused'}\t{_last(row['last_run'])}")


def _last(last: dict[str, Any] | None) -> str:
    if last is None:
        return "-"
    if last["outcome"] in ("skipped", "missed"):
        return f"{last['due_at']} {last['outcome']}: {last['detail']}"
    text = f"{last['due_at']} {last['job_id']} {last['job_status']}"
    if last["job_status"] == "done":
        text += (f": {last['documents_done']} done, {last['documents_unchanged']} unchanged, "
                 f"{last['documents_failed']} failed")
    elif last["error"]:
        text += f": {last['error']}"
    return text


def _pause(paused: bool) -> Callable[[str, str | None, str | None], None]:
    def command(name: str, state: str | None, project: str | None) -> None:
        from pipeline.store import ScheduleStore

        async def go(store: Any) -> None:
            found = await _find(store, name, project)
            await ScheduleStore(store).set_paused(found.enterprise_project, name, paused)

        _call(state, go)
        click.echo(f"{name}: {'paused' if paused else 'resumed'}")
    return command


for _verb, _paused, _help in (("pause", True, "Stop firing NAME (its job files stay)."),
                              ("resume", False, "Fire NAME again from the next due time.")):
    schedules.command(_verb, help=_help)(
        click.argument("name")(STATE(PROJECT(_pause(_paused)))))


@schedules.command("run-now")
@click.argument("name")
@STATE
@PROJECT
def schedules_run_now(name: str, state: str | None, project: str | None) -> None:
    """Queue a run of NAME now, outside its cron line (a running `up` runs it)."""
    from pipeline.schedules.scheduler import Scheduler

    async def go(store: Any) -> str | None:
        found = await _find(store, name, project)
        owner = f"cli:{socket.gethostname()}:{os.getpid()}"
        return await Scheduler(store, owner).run_now(found)

    job_id = _call(state, go)
    if job_id is None:
        click.echo(f"ocrpipe: error: {name}: no run queued (try again)", err=True)
        sys.exit(ExitCode.CONFIG)
    click.echo(f"{name}: job {job_id} queued")
