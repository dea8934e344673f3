"""`ocrpipe workers`: the `ocrpipe up` / `ocrpipe worker` processes on a state database,
read straight from it (pipeline/fleet/registry.py), so it works on any machine that can
reach the database, with or without an `up` serving the API (`GET /v1/workers` is the
same list over HTTP)."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from pipeline.errors import ExitCode, OcrpipeError

COLUMNS = ("id", "host", "pid", "kind", "started", "heartbeat", "state", "jobs")


async def _views(state: str | None) -> tuple[list[dict[str, Any]], float]:
    from pipeline.fleet.registry import WorkerRegistry
    from pipeline.store import open_store

    store = await open_store(state)
    try:
        registry = WorkerRegistry(store)
        now = datetime.now(UTC)
        return [row.view(now, registry.lease) for row in await registry.list_workers()], \
            registry.lease
    finally:
        await store.close()


def format_table(views: list[dict[str, Any]]) -> str:
    """One line per worker, aligned columns; the heartbeat as its age."""
    lines = [COLUMNS]
    for view in views:
        started = datetime.fromisoformat(view["started_at"]).strftime("%Y-%m-%d %H:%M:%S")
        lines.append((view["id"], view["host"], str(view["pid"]), view["kind"], started,
                      f"{view['heartbeat_age_s']:.0f}s ago", view["state"],
                      ",".join(view["jobs"]) or "-"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths,
                                                                         strict=True)).rstrip()
                     for line in lines)


@click.command("workers")
@click.option("--state", default=None, envvar="OCRPIPE_DB", show_envvar=True,
              help="State database: a path, sqlite:///PATH or postgresql://USER@HOST/DB.")
@click.option("--json", "as_json", is_flag=True, help="The same JSON as GET /v1/workers.")
def workers_command(state: str | None, as_json: bool) -> None:
    """The `ocrpipe up` and `ocrpipe worker` processes sharing the state database: live
    ones heartbeat every few seconds; a lost one (killed, stalled) has not for longer
    than the lease and no longer counts in a job's share of its qps."""
    try:
        views, lease = asyncio.run(_views(state))
    except OcrpipeError as exc:
        click.echo(f"ocrpipe: error: {exc}", err=True)
        sys.exit(getattr(exc, "exit_code", ExitCode.CONFIG))
    if as_json:
        click.echo(json.dumps({"workers": views, "lease_s": lease}, indent=2))
    elif not views:
        click.echo("no workers: start `ocrpipe up` or `ocrpipe worker` on this state database")
    else:
        click.echo(format_table(views))
